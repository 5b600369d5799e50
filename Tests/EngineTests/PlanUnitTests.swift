import Compiler
import Engine
import Hypervisor
import Planner
import Testing

/// `Planner.plan` on its own: desired state against an actual state written by hand, no hypervisor.
@Suite struct PlanUnitTests {
    func desired(_ name: String) throws -> DesiredState {
        DesiredState(try resolve(topology(name, hosts: 3, networks: 2)), acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools")
    }

    @Test func onAnEmptyHypervisorEverythingIsCreated() throws {
        let wanted = try desired("plan-empty")
        let plan = try Planner.plan(desired: wanted, actual: ActualState(networks: [], pools: [], domains: [], volumes: []))
        #expect(plan.actions(.create, .pool) == ["decoynet-plan-empty"])
        #expect(plan.actions(.create, .network) == ["plan-empty-net0", "plan-empty-net1"])
        #expect(plan.actions(.create, .domain) == ["plan-empty-h0", "plan-empty-h1", "plan-empty-h2"])
        #expect(plan.count(.delete) == 0 && plan.count(.replace) == 0 && plan.count(.keep) == 0)
    }

    @Test func objectsThatAreNotDecoyNetsAreNeverTouched() throws {
        let wanted = try desired("plan-foreign")
        // Someone else's domain and network (no DecoyNet metadata, another UUID), and their volume.
        let actual = ActualState(
            networks: [LiveNetwork(name: "default", uuid: "11111111-2222-3333-4444-555555555555", active: true, xml: "<network><name>default</name></network>")],
            pools: [LivePool(name: "images", uuid: "11111111-2222-3333-4444-666666666666", active: true)],
            domains: [LiveDomain(name: "mail-server", uuid: "11111111-2222-3333-4444-777777777777", state: .running, metadata: nil)],
            volumes: [LiveVolume(name: "mail-server.qcow2", path: "/srv/mail-server.qcow2")])
        let plan = try Planner.plan(desired: wanted, actual: actual)
        #expect(plan.count(.delete) == 0, "\(plan.actions)")
        #expect(!plan.actions.contains { ["default", "images", "mail-server", "mail-server.qcow2"].contains($0.name) })
        #expect(plan.count(.create) == 6)
    }

    @Test func aNetworkOfTheSameNameButAnotherUUIDIsRefused() throws {
        let wanted = try desired("plan-clash")
        let squatter = LiveNetwork(name: "plan-clash-net0", uuid: "11111111-2222-3333-4444-555555555555", active: true,
                                   xml: "<network><name>plan-clash-net0</name></network>")
        #expect(throws: (any Error).self) {
            try Planner.plan(desired: wanted, actual: ActualState(networks: [squatter], pools: [], domains: [], volumes: []))
        }
    }
}
