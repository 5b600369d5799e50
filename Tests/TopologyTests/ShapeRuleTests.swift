import Testing
@testable import Topology

/// Rules about which keys may appear where, and what kind of value each holds.
@Suite struct ShapeRuleTests {
    @Test func unknownTopLevelKeyGetsAHint() {
        expectDiagnostics("2️⃣" + validBase + """

        1️⃣hostz:
          a: { image: tiny, interfaces: [{ network: lan }] }
        """, [
            "1": ("unknown-key", "unknown key 'hostz' in the topology; did you mean 'hosts'?"),
            "2": ("missing-key", "the topology needs 'hosts'"),
        ])
    }

    @Test func unknownNetworkKeyGetsAHint() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, 1️⃣egres: nat }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, ["1": ("unknown-key", "unknown key 'egres' in network lan; did you mean 'egress'?")])
    }

    @Test func unknownKeyWithoutCloseMatchHasNoHint() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan, 1️⃣colour: red }] }
        """, ["1": ("unknown-key", "unknown key 'colour' in interface")])
    }

    @Test func requiredKeysAreReported() {
        let result = load("description: nothing else\n")
        #expect(result.diagnostics.map(\.rendered) == [
            "topology.yaml:1:1: error: the topology needs 'hosts'",
            "topology.yaml:1:1: error: the topology needs 'name'",
            "topology.yaml:1:1: error: the topology needs 'networks'",
        ])
    }

    @Test func missingCidrAndInterfacesPointAtTheirOwner() {
        expectDiagnostics("""
        name: acme
        networks:
          1️⃣lan: { dhcp: false }
        hosts:
          2️⃣a: { image: { kernel: /k, initrd: /i } }
          b: { image: { kernel: /k, initrd: /i }, interfaces: [3️⃣{ address: 10.0.0.1 }] }
        """, [
            "1": ("missing-key", "network lan needs 'cidr'"),
            "2": ("missing-key", "host a needs 'interfaces'"),
            "3": ("missing-key", "interface needs 'network'"),
        ])
    }

    @Test func wrongTypesAreNamed() {
        expectDiagnostics("""
        name: acme
        networks: 1️⃣[lan]
        hosts:
          a:
            image: { kernel: /k, initrd: /i }
            interfaces: 2️⃣{ network: lan }
            services: 3️⃣ssh
        """, [
            "1": ("wrong-type", "'networks' must be a mapping, found a list"),
            "2": ("wrong-type", "'interfaces' must be a list, found a mapping"),
            "3": ("wrong-type", "'services' must be a list, found a single value"),
        ])
    }

    @Test func emptySectionsAreErrors() {
        expectDiagnostics("""
        name: acme
        networks: 1️⃣{}
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: 2️⃣[] }
        """, [
            "1": ("empty-section", "'networks' needs at least one network"),
            "2": ("empty-section", "'interfaces' needs at least one interface"),
        ])
    }

    @Test func templatesAndDefaultsCannotHoldCountOrInterfaces() {
        expectDiagnostics(validBase + """

        defaults:
          1️⃣count: 3
        hosts:
          a: { template: base, interfaces: [{ network: lan }] }
        """, templates: ["base.yaml": """
        base:
          image: { kernel: /k, initrd: /i }
          2️⃣interfaces: [{ network: lan }]
        """], [
            "1": ("key-not-allowed", "'count' cannot be set in defaults; set it on the host"),
            "2": ("key-not-allowed", "'interfaces' cannot be set in template base; set them on each host"),
        ])
    }

    @Test func keysMustBeNames() {
        expectDiagnostics(validBase + """

        hosts:
          ? 1️⃣[a, b]
          : { image: tiny }
        """, ["1": ("wrong-type", "keys of 'hosts' must be names, found a mapping or a list")])
    }
}
