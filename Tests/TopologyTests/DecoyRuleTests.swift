import Testing
@testable import Topology

/// Rules of the decoy-host keys (version 2): people, owners, files, hardware, probes, checks.
@Suite struct DecoyRuleTests {
    @Test func aValidCompanyHasNoDiagnostics() {
        expectDiagnostics(validBase + """

        organization: Acme Trading Co.
        hardware: { vendor: dell }
        departments: [Sales, IT]
        people:
          - { user: tsato, name: Taro Sato, department: Sales, title: Account Manager }
          - { generate: 4, seed: 7 }
        hosts:
          ws: { image: tiny, count: 3, owner: auto, interfaces: [{ network: lan }] }
          www:
            image: tiny
            hardware: { vendor: hp }
            interfaces: [{ network: lan }]
            files: [{ path: /var/www/html/about.html, content: "<h1>{organization}</h1>" }]
            health: { probes: [running, ssh, "dns:www.acme.example", { probe: "http:80/about.html", expect: Acme }] }
        checks:
          - { from: ws-01, to: www, port: 80, expect: open }
          - { from: ws-02, resolve: www.acme.example, expect: 10.10.0.5 }
        """, [:])
    }

    @Test func usersAreValidUniqueAndInKnownDepartments() {
        expectDiagnostics(validBase + """

        departments: [Sales]
        people:
          - { user: 1️⃣Taro }
          - { user: hana, department: 2️⃣Sails }
          - { user: 3️⃣hana }
        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        """, [
            "1": ("invalid-user", "'Taro' is not a user name (lowercase letters, digits, '-' and '_', starting with a letter, 32 characters at most)"),
            "2": ("unknown-department", "department 'Sails' is not in 'departments'"),
            "3": ("duplicate-user", "user 'hana' is given twice; users are unique"),
        ])
    }

    @Test func ownersMustBePeopleAndAutoNeedsEnough() {
        expectDiagnostics(validBase + """

        people:
          - { user: tsato }
          - { generate: 1 }
        hosts:
          a: { image: tiny, owner: 1️⃣tsatoo, interfaces: [{ network: lan }] }
          ws: { image: tiny, count: 3, owner: 2️⃣auto, interfaces: [{ network: lan }] }
        """, [
            "1": ("unknown-owner", "owner 'tsatoo' is not a user in 'people'; did you mean 'tsato'?"),
            "2": ("not-enough-people", "'owner: auto' needs a person for each of 3 hosts, and 'people' has 2"),
        ])
    }

    @Test func filesNeedAnAbsolutePathAndOneReadableSource() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            interfaces: [{ network: lan }]
            files:
              - { path: 1️⃣etc/motd, content: hi }
              - 2️⃣{ path: /a, content: x, source: present.txt }
              - { path: /b, source: 3️⃣missing.txt }
              - { path: /c, source: present.txt }
        """, extraFiles: ["present.txt": "here"], [
            "1": ("relative-guest-path", "file path 'etc/motd' inside the host must be absolute"),
            "2": ("file-content-or-source", "a file needs exactly one of 'content' and 'source'"),
            "3": ("unreadable-file-source", "cannot read file source 'missing.txt'"),
        ])
    }

    @Test func fileSourcesStayInTheirFolder() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            interfaces: [{ network: lan }]
            files:
              - { path: /x, source: 1️⃣/etc/shadow }
              - { path: /y, source: 2️⃣../outside.txt }
              - { path: /z, source: 3️⃣link.txt }
              - { path: /w, source: 4️⃣docs }
              - { path: /v, source: docs/inside.txt }
        """, extraFiles: ["docs/inside.txt": "fine"], symlinks: ["link.txt": "/etc/hostname"], [
            "1": ("file-source-outside", "file source '/etc/shadow' is outside '<dir>'; sources are read from the folder of the file that names them"),
            "2": ("file-source-outside", "file source '../outside.txt' is outside '<dir>'; sources are read from the folder of the file that names them"),
            "3": ("file-source-outside", "file source 'link.txt' is outside '<dir>'; sources are read from the folder of the file that names them"),
            "4": ("unreadable-file-source", "cannot read file source 'docs'"),
        ])
    }

    @Test func hardwareVendorsAreKnown() {
        expectDiagnostics(validBase + """

        hardware: { vendor: 1️⃣del }
        hosts:
          a: { image: tiny, hardware: 3️⃣{ 2️⃣model: x }, interfaces: [{ network: lan }] }
        """, [
            "3": ("missing-key", "'hardware' needs 'vendor'"),
            "1": ("invalid-value", "'del' is not a valid hardware vendor; expected qemu, dell, hp, lenovo or supermicro; did you mean 'dell'?"),
            "2": ("unknown-key", "unknown key 'model' in 'hardware'"),
        ])
    }

    @Test func ownerIsForHostsOnly() {
        expectDiagnostics(validBase + """

        defaults:
          1️⃣owner: tsato
        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        """, ["1": ("key-not-allowed", "'owner' cannot be set in defaults; set it on the host")])
    }

    @Test func probesSpeakProtocolsAndExpectOnlyHTTP() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            interfaces: [{ network: lan }]
            health: { probes: [smtp, imap, smb, ldap, kerberos, mysql, 1️⃣"dns:", { probe: ssh, expect: 2️⃣OpenSSH }] }
        """, [
            "1": ("invalid-probe", "'dns:' is not a health probe; expected running, lease, agent, tcp:PORT, http:PORT/PATH, dns:NAME, ssh, smtp, imap, smb, ldap, kerberos or mysql"),
            "2": ("expect-needs-http", "'expect' applies to http probes only, not 'ssh'"),
        ])
    }

    @Test func checksNameHostsAndSayWhatTheyExpect() {
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, interfaces: [{ network: lan }] }
        checks:
          - { from: 1️⃣b, to: a, port: 22, expect: open }
          - { from: a, to: a, port: 22, expect: 2️⃣maybe }
          - { from: a, resolve: a.acme.example, expect: 3️⃣nowhere }
          - 4️⃣{ from: a, expect: open }
        """, [
            "1": ("unknown-check-host", "check names host 'b', which is not a host of this topology; did you mean 'a'?"),
            "2": ("invalid-value", "'maybe' is not a valid check 'expect'; expected open or closed"),
            "3": ("invalid-address", "'nowhere' is not an IPv4 address such as 10.10.0.5"),
            "4": ("invalid-check", "a check needs 'from' and either 'to', 'port' and 'expect: open|closed', or 'resolve' and 'expect'"),
        ])
    }

    @Test func generatedPeopleAreTheSameForTheSameSeedAndUnique() {
        var users: Set<String> = ["tsato"]
        let first = Personas.generate(40, seed: 7, departments: ["Sales", "IT"], avoiding: &users)
        var again: Set<String> = ["tsato"]
        let second = Personas.generate(40, seed: 7, departments: ["Sales", "IT"], avoiding: &again)
        #expect(first == second)
        #expect(Set(first.map(\.user)).count == 40)
        #expect(!first.map(\.user).contains("tsato"))
        #expect(first.allSatisfy { Personas.isValidUser($0.user) && $0.name.contains(" ") && $0.title != nil })
        #expect(first[0].department == "Sales" && first[1].department == "IT")
        var other: Set<String> = []
        #expect(Personas.generate(40, seed: 8, departments: [], avoiding: &other).map(\.name) != first.map(\.name))
    }
}
