import Testing
@testable import Topology

/// `policy` and `health.retries`: what a rule may name, located at the value that is wrong.
@Suite struct PolicyRuleTests {
    static let networks = """
    name: acme
    images:
      tiny: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
    networks:
      lan: { cidr: 10.10.0.0/24, gateway: fw }
      srv: { cidr: 10.20.0.0/24, gateway: fw }
      dmz: { cidr: 10.30.0.0/24 }
    hosts:
      fw: { image: tiny, interfaces: [{ network: lan }, { network: srv }, { network: dmz }] }
      db: { image: tiny, interfaces: [{ network: srv }], health: { retries: 3 } }
    """

    @Test func aCompanysPolicyIsValid() {
        expectDiagnostics(Self.networks + """

        policy:
          - { from: lan, to: srv, services: [dns, kerberos, ldap, smb] }
          - { from: any, to: db, ports: [3306, udp/514, tcp/8443] }
          - { from: srv, to: any }
        """, [:])
    }

    @Test func rulesNameNetworksHostsServicesAndPorts() {
        expectDiagnostics(Self.networks + """

        policy:
          - { from: 1️⃣lna, to: 2️⃣nowhere, services: [3️⃣ldpa], ports: [4️⃣tcp/0, 5️⃣sctp/9, 6️⃣http] }
          - { from: lan, to: 7️⃣dmz }
          - { from: 8️⃣db, to: lan, services: [ssh] }
        """, [
            "1": ("unknown-policy-network", "policy names 'lna', which is not a network of this topology (nor 'any'); did you mean 'lan'?"),
            "2": ("unknown-policy-target", "policy names 'nowhere', which is neither a network nor a host of this topology (nor 'any')"),
            "3": ("unknown-policy-service", "policy names service 'ldpa', which is not a well-known service; did you mean 'ldap'?; give its port instead (ports: [tcp/N])"),
            "4": ("invalid-policy-port", "port 'tcp/0' is not a port: write a number, tcp/N or udp/N (1 to 65535)"),
            "5": ("invalid-policy-port", "port 'sctp/9' is not a port: write a number, tcp/N or udp/N (1 to 65535)"),
            "6": ("invalid-policy-port", "port 'http' is not a port: write a number, tcp/N or udp/N (1 to 65535)"),
            "7": ("policy-network-without-gateway", "network dmz has no gateway: its hosts have no route to other networks, so policy cannot carry their traffic; set 'gateway' to the router on it"),
            "8": ("unknown-policy-network", "policy names 'db', which is not a network of this topology (nor 'any')"),
        ])
    }

    @Test func retriesAreBounded() {
        expectDiagnostics(validBase + """

        hosts:
          a: { image: tiny, interfaces: [{ network: lan }], health: { retries: 1️⃣11 } }
        """, [
            "1": ("out-of-range", "'retries' must be 0 to 10, found 11"),
        ])
    }
}
