import Compiler
import Engine
import Foundation
import Hypervisor
import Planner
import Testing

@Suite struct ExecutionTests {
    let hypervisor: LibvirtHypervisor

    init() throws {
        hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
    }

    @Test func stepsReallyOverlapUpToTheParallelism() async throws {
        let wide = uniqueName("wide")
        let log = EventLog()
        let result = try await apply(topology(wide, hosts: 60, networks: 3), hypervisor: hypervisor, parallelism: 8, onEvent: log.record)
        #expect(result.outcomes.allDone)
        #expect(log.maximumInFlight > 1, "several libvirt calls were under way at once")
        #expect(log.maximumInFlight <= 8)
        _ = try await destroy(wide, hypervisor: hypervisor)

        let narrow = uniqueName("narrow")
        let serial = EventLog()
        try await apply(topology(narrow, hosts: 20), hypervisor: hypervisor, parallelism: 1, onEvent: serial.record)
        #expect(serial.maximumInFlight == 1)
        _ = try await destroy(narrow, hypervisor: hypervisor)
    }

    @Test func dependenciesComeFirst() async throws {
        let name = uniqueName("order")
        let log = EventLog()
        try await apply(topology(name, hosts: 4), hypervisor: hypervisor, onEvent: log.record)
        var finished: [String] = []
        var began: [String: Int] = [:]
        for (index, event) in log.all.enumerated() {
            switch event {
            case let .began(id, _): began[id.description] = index
            case let .finished(id, _, _): finished.append(id.description)
            }
        }
        let doneAt = Dictionary(uniqueKeysWithValues: finished.enumerated().map { ($1, $0) })
        let networkDone = log.all.firstIndex { if case let .finished(id, _, _) = $0 { id.description == "network-up:\(name)-net0" } else { false } }!
        let poolDone = log.all.firstIndex { if case let .finished(id, _, _) = $0 { id.description == "pool-up:decoynet-\(name)" } else { false } }!
        #expect(began["domain-up:\(name)-h0"]! > networkDone)
        #expect(began["domain-up:\(name)-h0"]! > poolDone)
        #expect(doneAt.count == 7)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func aFailedStepSkipsItsDependentsAndIndependentOnesStillRun() async throws {
        let name = uniqueName("fail")
        let environment = try resolve(topology(name, hosts: 4))
        // Another network already holds the UUID net0 will ask for: libvirt refuses to define it.
        let uuid = try #require(environment.networks.first { $0.name == "net0" }?.uuid)
        try await hypervisor.defineAndStartNetwork(xml: "<network><name>squatter-\(name)</name><uuid>\(uuid)</uuid><bridge name='sq-\(name.suffix(8))'/></network>")
        let result = try await apply(topology(name, hosts: 4), hypervisor: hypervisor)
        let byID = Dictionary(uniqueKeysWithValues: result.outcomes.map { ($0.id.description, $0.result) })
        guard case let .failed(message)? = byID["network-up:\(name)-net0"] else {
            Issue.record("network net0 should fail: \(result.outcomes)")
            return
        }
        #expect(message.contains("\(name)-net0"))
        #expect(byID["domain-up:\(name)-h0"] == .skipped(because: "create network \(name)-net0"))
        #expect(byID["domain-up:\(name)-h2"] == .skipped(because: "create network \(name)-net0"))
        if case .done = byID["domain-up:\(name)-h1"] {} else { Issue.record("h1 on net1 should be created") }
        if case .done = byID["network-up:\(name)-net1"] {} else { Issue.record("net1 should be created") }

        // Once the obstacle is gone, applying again converges.
        try await hypervisor.removeNetwork(name: "squatter-\(name)")
        let again = try await apply(topology(name, hosts: 4), hypervisor: hypervisor)
        #expect(again.plan.actions(.create) == ["\(name)-h0", "\(name)-h2", "\(name)-net0"])
        #expect(again.outcomes.allDone)
        #expect(try await plan(topology(name, hosts: 4), hypervisor: hypervisor).isEmpty)
        _ = try await destroy(name, hypervisor: hypervisor)
    }

    @Test func anInterruptedApplyConvergesWhenRunAgain() async throws {
        let name = uniqueName("cut")
        let cancellation = Cancellation()
        let counter = EventLog()
        let first = try await apply(topology(name, hosts: 30), hypervisor: hypervisor, parallelism: 2, cancellation: cancellation) { event in
            counter.record(event)
            if counter.all.count == 8 { cancellation.cancel() }
        }
        let notStarted = first.outcomes.filter { $0.result == .notStarted }
        #expect(!notStarted.isEmpty, "the walk stopped scheduling")
        #expect(first.outcomes.allSatisfy { if case .failed = $0.result { false } else { true } }, "running steps finished cleanly")
        let rest = try await plan(topology(name, hosts: 30), hypervisor: hypervisor)
        #expect(rest.count(.create) > 0)
        #expect(try await apply(topology(name, hosts: 30), hypervisor: hypervisor).outcomes.allDone)
        #expect(try await plan(topology(name, hosts: 30), hypervisor: hypervisor).isEmpty)
        #expect(try await destroy(name, hypervisor: hypervisor).allDone)
    }

    @Test func walkerSkipsDependentsWithoutRepeatingTheError() async throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let vertices = [
            Vertex(id: step("a"), label: "step a") { throw Boom() },
            Vertex(id: step("b"), label: "step b", dependencies: [step("a")]) {},
            Vertex(id: step("c"), label: "step c", dependencies: [step("b")]) {},
            Vertex(id: step("d"), label: "step d") {},
        ]
        let outcomes = try await GraphWalker.walk(vertices, parallelism: 2)
        #expect(outcomes.map(\.result) == [.failed(message: "boom"), .skipped(because: "step a"), .skipped(because: "step a"), outcomes[3].result])
        if case .done = outcomes[3].result {} else { Issue.record("d is independent and runs") }
    }

    @Test func accelerationAutoChoosesTCGWithoutHardwareKVM() throws {
        let sysfs = FileManager.default.temporaryDirectory.appendingPathComponent("sysfs-" + UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: sysfs) }
        let device = sysfs + "/kvm-device"
        try FileManager.default.createDirectory(atPath: sysfs + "/kvm_pvm", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: device, contents: Data()))
        #expect(Acceleration.detect(uri: "qemu:///system", sysfs: sysfs, device: device) == .qemu, "kvm_pvm cannot boot stock kernels")
        try FileManager.default.removeItem(atPath: sysfs + "/kvm_pvm")
        try FileManager.default.createDirectory(atPath: sysfs + "/kvm_intel", withIntermediateDirectories: true)
        #expect(Acceleration.detect(uri: "qemu:///system", sysfs: sysfs, device: device) == .kvm)
        #expect(Acceleration.detect(uri: "qemu:///system", sysfs: sysfs, device: sysfs + "/missing") == .qemu)
        #expect(Acceleration.detect(uri: "test:///default", sysfs: sysfs, device: device) == .qemu)
        // This machine's own answer: its KVM module is kvm_pvm.
        if FileManager.default.fileExists(atPath: "/sys/module/kvm_pvm") {
            #expect(Acceleration.detect(uri: "qemu:///system") == .qemu)
        }
    }
}
