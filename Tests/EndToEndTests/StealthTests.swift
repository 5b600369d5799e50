import Foundation
import Testing

/// `topologies/stealth.yaml` on the project's images, end to end: a stealthy PC and a stealthy server
/// answer the checks malware makes like Dell machines, from their serial consoles, while the same
/// hosts without stealth give themselves away, each tell named; nothing runs in a stealthy host
/// through an agent it has not.
extension EndToEnd {
@Suite struct StealthTests {
    @Test func stealthyHostsAnswerLikeHardwareAndTheOthersGiveThemselvesAway() throws {
        let environment = "e2e-stealth"
        let source = try String(contentsOfFile: Lab.projectRoot + "/topologies/stealth.yaml", encoding: .utf8)
            .replacingOccurrences(of: "\nname: stealth\n", with: "\nname: \(environment)\n").replacingOccurrences(of: "10.81.", with: "10.189.")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-e2e-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(source.utf8).write(to: URL(fileURLWithPath: folder + "/stealth.yaml"))
        defer { _ = try? Lab.decoynet(["destroy", environment]) }

        let applied = try Lab.decoynet(["apply", folder + "/stealth.yaml", "--json"], timeout: 900)
        #expect(applied.status == 0, "\(applied.stderr)\n\(applied.stdout.suffix(3000))")

        let tested = try Lab.decoynet(["test", environment, "--tells", "--json"], timeout: 600)
        let results = try #require(try Lab.json(tested.stdout) as? [[String: Any]], "\(tested.stderr)")
        #expect(tested.status == 1, "the hosts without stealth fail the self-test")
        func verdicts(_ host: String) -> [String: (passed: Bool, detail: String)] {
            Dictionary(uniqueKeysWithValues: results.filter { $0["kind"] as? String == "stealth" && $0["host"] as? String == host }.compactMap { result in
                (result["test"] as? String).map { ($0, (result["passed"] as? Bool == true, result["detail"] as? String ?? "")) }
            })
        }
        for host in ["pc", "srv"] {
            let found = verdicts(host)
            #expect(found.count == 16, "\(host): every check gave a verdict from the console: \(found)")
            // QEMU 7.2 writes its creator id (BXPC), its fw_cfg device (QEMU0002) and the emulated
            // devices table (WAET) into every q35 machine's ACPI tables, whatever its options.
            let failed = found.filter { !$0.value.passed }
            #expect(Set(failed.keys) == ["acpi-tables"], "\(host): \(failed)")
            #expect(failed["acpi-tables"]?.detail.contains("BXPC") == true)
            #expect(found["systemd-detect-virt"]?.passed == true && found["virt-what"]?.passed == true && found["smbios-vm-bit"]?.passed == true)
        }
        for host in ["pc-plain", "srv-plain"] {
            let found = verdicts(host)
            let failed = Set(found.filter { !$0.value.passed }.keys)
            #expect(failed.isSuperset(of: ["systemd-detect-virt", "virt-what", "cpu-hypervisor-flag", "cpu-model", "pci-vendors", "dmi",
                                           "smbios-vm-bit", "dmidecode", "acpi-tables", "kernel-modules", "virtio-devices", "guest-agent"]),
                    "\(host): \(found)")
            #expect(found["systemd-detect-virt"]?.detail == "qemu" && found["virt-what"]?.detail == "qemu", "\(host)")
            #expect(found["cpu-model"]?.detail.contains("QEMU Virtual CPU") == true)
        }
        // Probes from the network still give a stealthy host's health.
        let probes = results.filter { $0["kind"] as? String == "probe" && $0["host"] as? String == "srv" }
        #expect(probes.map { $0["test"] as? String } == ["running", "lease", "ssh"] && probes.allSatisfy { $0["passed"] as? Bool == true })

        let refused = try Lab.decoynet(["exec", environment, "pc", "--", "hostname"])
        #expect(refused.status != 0 && refused.stderr.contains("is stealthy: it has no guest agent"), "\(refused)")
    }
}
}
