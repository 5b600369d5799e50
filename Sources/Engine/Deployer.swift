import Compiler
import Foundation
import Hypervisor
import Naming
import Planner

/// Plans and the steps that carry them out. Front ends call `Operations`, which builds on these.
public enum Deployer {
    /// Where environments keep their overlays unless told otherwise.
    public static let defaultPoolRoot = Naming.defaultPoolRoot

    public static func plan(_ environment: ResolvedEnvironment, hypervisor: any Hypervisor, acceleration: Acceleration,
                            poolRoot: String = defaultPoolRoot) async throws -> (desired: DesiredState, plan: Plan) {
        var environment = environment
        if environment.hosts.contains(where: \.stealth) { environment.consoleKey = try ConsoleKey.machine() }
        let desired = DesiredState(environment, acceleration: acceleration, poolRoot: poolRoot)
        let actual = try await ActualState.read(from: hypervisor, poolName: desired.poolName)
        return (desired, try Planner.plan(desired: desired, actual: actual))
    }

    /// Carries out `plan`; returns every step's outcome, in plan order.
    public static func apply(_ plan: Plan, desired: DesiredState, hypervisor: any Hypervisor, parallelism: Int,
                             capture: (any TrafficCapture)? = nil, cancellation: Cancellation = Cancellation(),
                             onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> [VertexOutcome] {
        try await apply([(plan, desired)], hypervisor: hypervisor, parallelism: parallelism, capture: capture, cancellation: cancellation, onEvent: onEvent)
    }

    /// Carries out several environments' plans (copies of one topology) in one parallel walk.
    public static func apply(_ planned: [(plan: Plan, desired: DesiredState)], hypervisor: any Hypervisor, parallelism: Int,
                             capture: (any TrafficCapture)? = nil, cancellation: Cancellation = Cancellation(),
                             onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> [VertexOutcome] {
        let vertices = steps(planned, hypervisor: hypervisor, capture: capture)
        return try await GraphWalker.walk(vertices, parallelism: parallelism, cancellation: cancellation, onEvent: onEvent)
    }

    /// The steps `apply` would run, for counting them before they run.
    public static func steps(_ planned: [(plan: Plan, desired: DesiredState)], hypervisor: any Hypervisor, capture: (any TrafficCapture)?,
                             startDomains: Bool = true) -> [Vertex] {
        planned.flatMap { PlanExecutor.vertices(for: $0.plan, desired: $0.desired, hypervisor: hypervisor, capture: capture, startDomains: startDomains) }
    }

    /// The plan that removes everything of `environment`: domains, overlays, networks, pool.
    public static func destroyPlan(environment: String, hypervisor: any Hypervisor) async throws -> Plan {
        let actual = try await ActualState.read(from: hypervisor, poolName: Naming.pool(environment: environment))
        return Planner.destroyPlan(environment: environment, actual: actual)
    }

    /// Removes the environments of `plans` (destroy plans) in one parallel walk.
    public static func destroy(_ plans: [Plan], hypervisor: any Hypervisor, parallelism: Int, capture: (any TrafficCapture)? = nil,
                               cancellation: Cancellation = Cancellation(),
                               onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> [VertexOutcome] {
        try await GraphWalker.walk(destroySteps(plans, hypervisor: hypervisor, capture: capture), parallelism: parallelism,
                               cancellation: cancellation, onEvent: onEvent)
    }

    /// The steps `destroy` would run, for counting them before they run.
    public static func destroySteps(_ plans: [Plan], hypervisor: any Hypervisor, capture: (any TrafficCapture)?) -> [Vertex] {
        plans.flatMap { PlanExecutor.vertices(for: $0, desired: nil, hypervisor: hypervisor, capture: capture) }
    }
}
