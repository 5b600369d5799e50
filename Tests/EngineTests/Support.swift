import Compiler
import Engine
import Foundation
import Hypervisor
import Planner
import Testing

/// libvirt's own in-memory driver: the real API, no mock. All connections of this process share
/// its state, so every test uses an environment name of its own.
let testURI = "test:///default"

func uniqueName(_ prefix: String) -> String {
    prefix + "-" + String(UUID().uuidString.lowercased().prefix(8))
}

/// A topology of `hosts` hosts named `ENV` on `networks` networks, every host with an overlay.
func topology(_ environment: String, hosts: Int = 3, networks: Int = 2, memory: String = "256MiB", extra: String = "") -> String {
    var text = "name: \(environment)\nimages:\n  base: { disk: /var/lib/images/base.qcow2 }\nnetworks:\n"
    for index in 0 ..< networks { text += "  net\(index): { cidr: 10.\(100 + index).0.0/22 }\n" }
    text += "hosts:\n"
    for index in 0 ..< hosts {
        text += "  h\(index): { image: base, disk: 1GiB, memory: \(index == 0 ? memory : "256MiB"), interfaces: [{ network: net\(index % networks) }] }\n"
    }
    return text + extra
}

func resolve(_ source: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> ResolvedEnvironment {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-engine-" + UUID().uuidString).path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/topology.yaml"
    try Data(source.utf8).write(to: URL(fileURLWithPath: path))
    let result = Compiler.lower(path: path, projectTemplates: nil)
    let errors = result.diagnostics.filter { $0.severity == .error }
    #expect(errors.isEmpty, "\(errors.map(\.rendered))", sourceLocation: sourceLocation)
    return try #require(result.environment, sourceLocation: sourceLocation)
}

/// Plans and applies `source`; returns the plan that was applied and the steps' outcomes.
@discardableResult
func apply(_ source: String, hypervisor: any Hypervisor, parallelism: Int = 8, cancellation: Cancellation = Cancellation(),
           onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> (plan: Plan, outcomes: [VertexOutcome]) {
    let environment = try resolve(source)
    let (desired, plan) = try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools")
    let outcomes = try await Deployer.apply(plan, desired: desired, hypervisor: hypervisor, parallelism: parallelism, cancellation: cancellation, onEvent: onEvent)
    return (plan, outcomes)
}

func plan(_ source: String, hypervisor: any Hypervisor) async throws -> Plan {
    try await Deployer.plan(try resolve(source), hypervisor: hypervisor, acceleration: .qemu, poolRoot: "/tmp/decoynet-test-pools").plan
}

func destroy(_ environment: String, hypervisor: any Hypervisor) async throws -> [VertexOutcome] {
    let plan = try await Deployer.destroyPlan(environment: environment, hypervisor: hypervisor)
    return try await Deployer.destroy([plan], hypervisor: hypervisor, parallelism: 8)
}

extension Plan {
    func actions(_ kind: PlannedAction.Kind, _ resource: PlannedAction.Resource? = nil) -> [String] {
        actions.filter { $0.kind == kind && (resource == nil || $0.resource == resource) }.map(\.name).sorted()
    }
}

extension [VertexOutcome] {
    var allDone: Bool { allSatisfy { if case .done = $0.result { true } else { false } } }
}

/// Records walk events in order, from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [WalkEvent] = []

    func record(_ event: WalkEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [WalkEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    /// The most steps that had begun and not yet finished at one moment.
    var maximumInFlight: Int {
        var running = 0
        var maximum = 0
        for event in all {
            switch event {
            case .began: running += 1
            case let .finished(_, _, result):
                if case .skipped = result { continue }
                running -= 1
            }
            maximum = Swift.max(maximum, running)
        }
        return maximum
    }
}

/// A step of a hand-made graph.
func step(_ name: String) -> StepID { StepID(.host, .up, name) }
