import Compiler
import Engine
import Hypervisor
import Testing

@Suite struct AddressCheckTests {
    @Test func overlapsWithOtherEnvironmentsAndRoutesAreFound() throws {
        let mine = try resolve(topology(uniqueName("mine"), hosts: 1, networks: 1))
        let other = LiveNetwork(name: "other-lan", uuid: "x", active: true,
                                xml: "<network><name>other-lan</name><bridge name='br9'/><ip address='10.100.1.1' prefix='24'/></network>")
        let route = HostRoutes.Route(interface: "eth0", destination: 0x0A64_0000, prefixLength: 16)
        let problems = AddressCheck.conflicts([mine], live: [other], routes: [route])
        #expect(problems.count == 2)
        #expect(problems[0] == "network \(mine.name)-net0 (10.100.0.0/22) overlaps network other-lan (10.100.1.1/24), already on the connection")
        #expect(problems[1] == "network \(mine.name)-net0 (10.100.0.0/22) overlaps the route to 10.100.0.0/16 via eth0 on the host")
    }

    @Test func anEnvironmentDoesNotConflictWithItselfOrItsOwnBridges() throws {
        let mine = try resolve(topology(uniqueName("self"), hosts: 1, networks: 1))
        let network = mine.networks[0]
        let live = LiveNetwork(name: network.libvirtName, uuid: network.uuid, active: true,
                               xml: DocumentRenderer.networkDocument(network, in: mine).serialized())
        let route = HostRoutes.Route(interface: network.bridge, destination: network.cidr.address.value, prefixLength: 22)
        #expect(AddressCheck.conflicts([mine], live: [live], routes: [route]).isEmpty)
    }

    @Test func copiesOfOneTopologyAreCheckedAgainstEachOther() throws {
        let first = try resolve(topology(uniqueName("a"), hosts: 1, networks: 1))
        let second = try resolve(topology(uniqueName("b"), hosts: 1, networks: 1))
        #expect(AddressCheck.conflicts([first, second], live: [], routes: []).count == 1)
    }
}
