import Foundation
import Testing
@testable import Topology

/// `activity`: a workday, a time zone and a speed, each wrong value located; nobody to work is an
/// error, and nobody with a workstation of their own a warning.
@Suite struct ActivityRuleTests {
    static let company = """
    name: acme
    images:
      tiny: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
    networks:
      lan: { cidr: 10.10.0.0/24 }
    people:
      - { user: tsato, name: Taro Sato }
    hosts:
      ws: { image: tiny, owner: tsato, interfaces: [{ network: lan }] }
    """

    @Test func aCompanyAtWorkIsValid() {
        expectDiagnostics(Self.company + "\nactivity: { workday: \"08:30-17:15\", timezone: Asia/Tokyo, speed: 60 }\n", [:])
        expectDiagnostics(Self.company + "\nactivity: true\n", [:])
        expectDiagnostics(Self.company + "\nactivity: { workday: \"8:30-17:15\", timezone: UTC }\n", [:])
    }

    @Test func workdayTimezoneAndSpeedAreChecked() {
        expectDiagnostics(Self.company + """

        activity: { workday: 1️⃣"9-18", timezone: 2️⃣Tokyo, speed: 3️⃣0 }
        """, [
            "1": ("invalid-workday", "'9-18' is not a workday: write its start and end in 24-hour time, such as \"09:00-18:00\""),
            "2": ("invalid-timezone", "'Tokyo' is not a time zone: write an IANA name such as Asia/Tokyo or Europe/Berlin, or UTC"),
            "3": ("out-of-range", "'speed' must be 1 to 3600, found 0"),
        ])
        // A zone that is well formed but not in tzdata: refused where this machine has tzdata.
        let zone = FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Asia/Tokyo") ? "Asia/Nowhere" : "tokyo"
        expectDiagnostics(Self.company + """

        activity: { workday: 1️⃣"18:00-09:00", timezone: 2️⃣\(zone), 3️⃣sped: 2 }
        """, [
            "1": ("invalid-workday", "'18:00-09:00' is not a workday: write its start and end in 24-hour time, such as \"09:00-18:00\""),
            "2": ("invalid-timezone", "'\(zone)' is not a time zone: write an IANA name such as Asia/Tokyo or Europe/Berlin, or UTC"),
            "3": ("unknown-key", "unknown key 'sped' in 'activity'; did you mean 'speed'?"),
        ])
        expectDiagnostics(Self.company + "\nactivity: { workday: 1️⃣\"09:00-12:00\" }\n", [
            "1": ("workday-too-short", "workday '09:00-12:00' is shorter than 4 hours: people arrive, lunch and leave within it"),
        ])
    }

    @Test func somebodyMustWorkFromTheirOwnWorkstation() {
        expectDiagnostics("""
        name: acme
        images:
          tiny: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          ws: { image: tiny, interfaces: [{ network: lan }] }
        activity: 1️⃣{ speed: 60 }
        """, [
            "1": ("activity-without-people", "'activity' has nobody to work: add 'people' and give workstations an 'owner'"),
        ])
        expectDiagnostics(Self.company.replacingOccurrences(of: "owner: tsato, ", with: "") + "\nactivity: 1️⃣true\n", [
            "1": ("activity-without-owners", "'activity' is set, but no host has an 'owner': people act from their own workstations; give them one (owner: auto)"),
        ])
    }
}
