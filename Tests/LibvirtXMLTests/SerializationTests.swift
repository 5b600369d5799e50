import LibvirtXML
import Testing

@Suite struct SerializationTests {
    @Test func textAndAttributesAreEscaped() {
        let element = XMLElement("domain", attributes: [("type", "a\"<&>'b")], children: [
            XMLElement("description", text: "R&D <lab> \"quoted\""),
        ])
        #expect(XMLSerializer.serialize(element) == """
        <domain type="a&quot;&lt;&amp;&gt;'b">
          <description>R&amp;D &lt;lab&gt; "quoted"</description>
        </domain>

        """)
    }

    @Test func namespaceIsDeclaredOnceWhereItIsFirstUsed() {
        let ns = XMLElement.Namespace(prefix: "x", uri: "urn:test")
        let element = XMLElement("root", children: [
            XMLElement("outer", namespace: ns, children: [XMLElement("inner", namespace: ns, attributes: [("a", "1")])]),
        ])
        #expect(XMLSerializer.serialize(element) == """
        <root>
          <x:outer xmlns:x="urn:test">
            <x:inner a="1"/>
          </x:outer>
        </root>

        """)
    }

    @Test func volumeWithoutCapacityTakesTheBackingSize() {
        let volume = StorageVolume(name: "a.qcow2", capacityBytes: nil, backingStore: StorageVolumeBackingStore(path: "/b.qcow2", format: "qcow2"))
        #expect(volume.serialized() == """
        <volume>
          <name>a.qcow2</name>
          <target>
            <format type="qcow2"/>
          </target>
          <backingStore>
            <path>/b.qcow2</path>
            <format type="qcow2"/>
          </backingStore>
        </volume>

        """)
    }

    @Test func isolatedNetworkHasNoForwardAndDHCPHostsInOrder() {
        let network = Network(
            name: "e-lan", uuid: "00000000-0000-8000-8000-000000000000", bridge: NetworkBridge(name: "dn-0123456789"), mtu: 1500,
            ips: [NetworkIP(address: "10.0.0.1", prefix: 24, dhcp: NetworkDHCP(hosts: [
                NetworkDHCPHost(mac: "52:54:00:00:00:02", name: "b", ip: "10.0.0.3"),
                NetworkDHCPHost(mac: "52:54:00:00:00:01", name: nil, ip: "10.0.0.2"),
            ]))]
        )
        let xml = network.serialized()
        #expect(!xml.contains("<forward"))
        #expect(xml.contains("""
            <dhcp>
              <host mac="52:54:00:00:00:02" name="b" ip="10.0.0.3"/>
              <host mac="52:54:00:00:00:01" ip="10.0.0.2"/>
            </dhcp>
        """))
    }

    @Test func serialisationIsSafeFromManyThreads() async {
        let element = XMLElement("a", children: (0 ..< 50).map { XMLElement("b", attributes: [("i", String($0))]) })
        let expected = XMLSerializer.serialize(element)
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0 ..< 32 { group.addTask { XMLSerializer.serialize(element) } }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == expected })
    }
}
