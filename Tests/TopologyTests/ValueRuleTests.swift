import Testing
@testable import Topology

/// Rules about single values: names, numbers, sizes, durations, choices, addresses.
@Suite struct ValueRuleTests {
    @Test func environmentNameFollowsItsPattern() {
        expectDiagnostics("""
        name: 1️⃣Acme_Corp
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, ["1": ("invalid-name", "'Acme_Corp' is not a valid environment name: use lowercase letters, digits and '-', starting with a letter, at most 20 characters")])
    }

    @Test func environmentNameIsAtMostTwentyCharacters() {
        expectDiagnostics("""
        name: 1️⃣abcdefghijklmnopqrstu
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, ["1": ("invalid-name", "'abcdefghijklmnopqrstu' is not a valid environment name: use lowercase letters, digits and '-', starting with a letter, at most 20 characters")])
    }

    @Test func objectNamesFollowTheirPattern() {
        expectDiagnostics("""
        name: acme
        images:
          1️⃣Win10: { disk: /d.qcow2 }
        networks:
          2️⃣9lan: { cidr: 10.10.0.0/24 }
        hosts:
          3️⃣web_1: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: 9lan }] }
          4️⃣abcdefghijabcdefghijabcdefghijab: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: 9lan }] }
        """, [
            "1": ("invalid-name", "'Win10' is not a valid image name: use lowercase letters, digits and '-', starting with a letter, at most 31 characters"),
            "2": ("invalid-name", "'9lan' is not a valid network name: use lowercase letters, digits and '-', starting with a letter, at most 31 characters"),
            "3": ("invalid-name", "'web_1' is not a valid host name: use lowercase letters, digits and '-', starting with a letter, at most 31 characters"),
            "4": ("invalid-name", "'abcdefghijabcdefghijabcdefghijab' is not a valid host name: use lowercase letters, digits and '-', starting with a letter, at most 31 characters"),
        ])
    }

    @Test func domainMustBeADNSName() {
        expectDiagnostics(validBase + """

        domain: 1️⃣acme..example
        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        """, ["1": ("invalid-domain", "'acme..example' is not a valid DNS name such as acme.example")])
    }

    @Test func choicesListTheirValuesWithAHint() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, egress: 1️⃣nta, spoofing: 5️⃣alow }
        hosts:
          a:
            image: { kernel: /k, initrd: /i, format: 2️⃣vmdk }
            firmware: 3️⃣efi
            interfaces: [{ network: lan, model: 4️⃣e1000f }]
        """, [
            "1": ("invalid-value", "'nta' is not a valid egress; expected isolated, nat or routed; did you mean 'nat'?"),
            "2": ("invalid-value", "'vmdk' is not a valid disk format; expected qcow2 or raw"),
            "3": ("invalid-value", "'efi' is not a valid firmware; expected bios or uefi; did you mean 'uefi'?"),
            "4": ("invalid-value", "'e1000f' is not a valid interface model; expected virtio, e1000, e1000e or rtl8139; did you mean 'e1000e'?"),
            "5": ("invalid-value", "'alow' is not a valid spoofing; expected deny or allow; did you mean 'allow'?"),
        ])
    }

    @Test func dhcpIsABoolean() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, dhcp: 1️⃣maybe }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, ["1": ("invalid-value", "'dhcp' must be true or false, found 'maybe'")])
    }

    @Test func integersAndRanges() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, mtu: 1️⃣9 }
        hosts:
          a:
            image: { kernel: /k, initrd: /i }
            vcpus: 2️⃣65
            count: 3️⃣0
            interfaces: [{ network: lan }]
          b:
            image: { kernel: /k, initrd: /i }
            vcpus: 4️⃣two
            interfaces: [{ network: lan }]
        """, [
            "1": ("out-of-range", "'mtu' must be 68 to 65535, found 9"),
            "2": ("out-of-range", "'vcpus' must be 1 to 64, found 65"),
            "3": ("out-of-range", "'count' must be 1 to 100000, found 0"),
            "4": ("invalid-value", "'vcpus' must be a whole number, found 'two'"),
        ])
    }

    @Test func memoryAndDiskSizes() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            memory: 1️⃣512MB
            disk: 2️⃣40
            interfaces: [{ network: lan }]
          b:
            image: tiny
            memory: 3️⃣32MiB
            interfaces: [{ network: lan }]
          c:
            image: tiny
            memory: 4️⃣lots
            interfaces: [{ network: lan }]
          d:
            image: tiny
            memory: 5️⃣2048GiB
            interfaces: [{ network: lan }]
        """, [
            "1": ("invalid-size", "'512MB' uses a decimal unit; sizes are binary: did you mean '512MiB'?"),
            "2": ("invalid-size", "'40' is not a valid disk size: write a whole number with MiB, GiB or TiB"),
            "3": ("out-of-range", "'memory' must be 64MiB to 1024GiB, found 32MiB"),
            "4": ("invalid-size", "'lots' is not a valid memory size: write a whole number with MiB, GiB or TiB (a plain number means MiB)"),
            "5": ("out-of-range", "'memory' must be 64MiB to 1024GiB, found 2048GiB"),
        ])
    }

    @Test func plainMemoryIsMiB() {
        let result = load(validBase + """

        hosts:
          a: { image: tiny, memory: 768, interfaces: [{ network: lan }] }
        """)
        #expect(!result.diagnostics.hasErrors)
    }

    @Test func healthTimeoutAndProbes() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            interfaces: [{ network: lan }]
            health:
              timeout: 1️⃣soon
              probes: [running, 2️⃣"tcp:99999", 3️⃣ping, 4️⃣"http:80 /x"]
        """, [
            "1": ("invalid-duration", "'soon' is not a valid duration: write a whole number with s, m or h, such as 120s"),
            "2": ("invalid-probe", "'tcp:99999' is not a health probe; expected running, lease, agent, tcp:PORT, http:PORT/PATH, dns:NAME, ssh, smtp, imap, smb, ldap, kerberos or mysql"),
            "3": ("invalid-probe", "'ping' is not a health probe; expected running, lease, agent, tcp:PORT, http:PORT/PATH, dns:NAME, ssh, smtp, imap, smb, ldap, kerberos or mysql"),
            "4": ("invalid-probe", "'http:80 /x' is not a health probe; expected running, lease, agent, tcp:PORT, http:PORT/PATH, dns:NAME, ssh, smtp, imap, smb, ldap, kerberos or mysql"),
        ])
    }

    @Test func servicesAreWellKnownOrPorts() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            interfaces: [{ network: lan }]
            services: [ssh, 1️⃣htps, { port: 2️⃣70000 }, 3️⃣{ name: x }]
        """, [
            "1": ("unknown-service", "unknown service 'htps'; use a well-known name (dns, http, https, imap, kerberos, ldap, mssql, mysql, rdp, smb, smtp, ssh, telnet, winrm) or {port: N}; did you mean 'https'?"),
            "2": ("out-of-range", "'port' must be 1 to 65535, found 70000"),
            "3": ("missing-key", "service needs 'port'"),
        ])
    }

    @Test func cidrSyntaxHostBitsAndPrefixRange() {
        expectDiagnostics("""
        name: acme
        networks:
          a: { cidr: 1️⃣10.10.0/24 }
          b: { cidr: 2️⃣10.20.0.1/22 }
          c: { cidr: 3️⃣10.0.0.0/8 }
          d: { cidr: 4️⃣10.30.0.0/31 }
        hosts:
          h: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: a }] }
        """, [
            "1": ("invalid-cidr", "'10.10.0/24' is not an IPv4 prefix such as 10.10.0.0/24"),
            "2": ("invalid-cidr", "10.20.0.1/22 has host bits set; did you mean 10.20.0.0/22?"),
            "3": ("invalid-cidr", "prefix /8 of 10.0.0.0/8 is outside /16 to /30"),
            "4": ("invalid-cidr", "prefix /31 of 10.30.0.0/31 is outside /16 to /30"),
        ])
    }

    @Test func addressesAndMACsMustParse() {
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, interfaces: [{ network: lan, address: 1️⃣10.10.0.300, mac: 2️⃣52:54:00:zz:00:01 }] }
          b: { image: tiny, interfaces: [{ network: lan, mac: 3️⃣"01:00:5e:00:00:01" }] }
        """, [
            "1": ("invalid-address", "'10.10.0.300' is not an IPv4 address such as 10.10.0.5"),
            "2": ("invalid-mac", "'52:54:00:zz:00:01' is not a MAC address such as 52:54:00:12:34:56"),
            "3": ("invalid-mac", "01:00:5e:00:00:01 is a multicast address; an interface needs a unicast MAC (even first byte)"),
        ])
    }
}
