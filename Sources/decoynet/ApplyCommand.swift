import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would create, replace, update, start or delete, without changing anything."
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file")) var file: String
    @Flag(help: "Print the plan as JSON.") var json = false
    @Flag(help: "List unchanged objects too.") var all = false
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let environment = try loadEnvironment(file, topology: topology, forDeploy: false)
        let hypervisor = try openHypervisor(connection)
        let (_, plan) = try await makePlan(environment, hypervisor: hypervisor, accel: accel)
        if json {
            print(DiagnosticOutput.json(PlanOutput.json(plan, uri: hypervisor.uri)))
        } else {
            print(PlanOutput.text(plan, uri: hypervisor.uri, showKept: all))
        }
    }
}

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update an environment in parallel, then wait until every host is healthy.",
        discussion: "A second apply of the same file changes nothing. Run commands that reach guests inside the lab's network namespace: ip netns exec decoynet-lab decoynet apply FILE"
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file")) var file: String
    @Flag(help: "Do not wait for health checks.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait for health, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Flag(help: "Print the plan, the steps and health as JSON.") var json = false
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    struct Report: Encodable {
        var plan: PlanOutput.JSONPlan
        var steps: [PlanOutput.JSONOutcome]
        var health: [HostHealth]?
        var succeeded: Bool
        var interrupted: Bool
    }

    func run() async throws {
        let environment = try loadEnvironment(file, topology: topology, forDeploy: true, connection: connection)
        let hypervisor = try openHypervisor(connection)
        let lock = try EnvironmentLock(environment: environment.name, uri: hypervisor.uri) {
            Terminal.error("waiting for another decoynet command on environment \(environment.name) to finish...")
        }
        defer { withExtendedLifetime(lock) {} }
        let (desired, plan) = try await makePlan(environment, hypervisor: hypervisor, accel: accel)
        if !json { Terminal.error(PlanOutput.text(plan, uri: hypervisor.uri)) }

        let cancellation = Cancellation()
        let interruption = Interruption {
            cancellation.cancel()
            Terminal.error("\ninterrupted: no new steps start; running ones finish. Run apply or destroy again to converge.")
        }
        let steps = plan.actions.filter { $0.kind != .keep }.count
        let capture = localCapture(hypervisor)
        let progress = Progress(phase: "apply", total: PlanExecutor.vertices(for: plan, desired: desired, hypervisor: hypervisor, capture: capture).count, quiet: json)
        let outcomes = await Deployer.apply(plan, desired: desired, hypervisor: hypervisor, parallelism: connection.parallel,
                                            capture: capture, cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        if failures.isEmpty, !json { Terminal.error("applied \(steps) changes to \(environment.name) in \(progress.elapsed)") }
        var health: [HostHealth]?
        if failures.isEmpty, !noWait, !cancellation.isCancelled {
            if !json { Terminal.error("waiting for health (\(environment.hosts.count) hosts)...") }
            let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
            health = try await checker.check(environment: environment.name, wait: true, timeout: timeout, cancellation: cancellation)
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        if json {
            print(DiagnosticOutput.json(Report(plan: PlanOutput.json(plan, uri: hypervisor.uri), steps: PlanOutput.json(outcomes),
                                               health: health, succeeded: failures.isEmpty && healthy, interrupted: cancellation.isCancelled)))
        } else {
            if !failures.isEmpty {
                Terminal.error("apply failed: \(failures.count) of \(outcomes.count) steps did not complete:")
                for failure in failures {
                    switch failure.result {
                    case let .failed(message): Terminal.error("  \(failure.label): \(message)")
                    case let .skipped(because): Terminal.error("  \(failure.label): skipped, because \(because) failed")
                    case .notStarted: Terminal.error("  \(failure.label): not started (interrupted)")
                    case .done: break
                    }
                }
            }
            if let health { print(PlanOutput.healthTable(health)) }
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty || !healthy { throw ExitCode.failure }
    }
}

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove every domain, overlay, network and pool of an environment, and nothing else."
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Flag(help: "Print the steps as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        let lock = try EnvironmentLock(environment: environment, uri: hypervisor.uri) {
            Terminal.error("waiting for another decoynet command on environment \(environment) to finish...")
        }
        defer { withExtendedLifetime(lock) {} }
        let plan = try await Deployer.destroyPlan(environment: environment, hypervisor: hypervisor)
        let capture = localCapture(hypervisor)
        if plan.actions.isEmpty, !(capture?.hasState(environment: environment) ?? false) {
            if json { print(DiagnosticOutput.json(PlanOutput.json([]))) } else { Terminal.error("nothing to destroy: no environment \(environment) on \(hypervisor.uri)") }
            return
        }
        let cancellation = Cancellation()
        let interruption = Interruption { cancellation.cancel() }
        let progress = Progress(phase: "destroy", total: plan.actions.count, quiet: json)
        let outcomes = await Deployer.destroy(plan, hypervisor: hypervisor, parallelism: connection.parallel, capture: capture,
                                              cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        if json {
            print(DiagnosticOutput.json(PlanOutput.json(outcomes)))
        } else if failures.isEmpty {
            Terminal.error("destroyed \(environment): \(plan.actions.count) objects removed in \(progress.elapsed)")
        } else {
            for failure in failures { Terminal.error("  \(failure.label): \(failure.result)") }
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}

// MARK: - Shared steps

/// `forDeploy` on a local QEMU connection: base images must exist, or nothing can boot.
func loadEnvironment(_ file: String, topology: TopologyOptions, forDeploy: Bool, connection: ConnectionOptions? = nil) throws -> ResolvedEnvironment {
    let result = Compiler.lower(path: file, projectTemplates: topology.templatesDirectory)
    var diagnostics = result.diagnostics
    if forDeploy, connection?.resolvedURI.hasPrefix("qemu:///") ?? true {
        // A base image that is missing is only a warning for compiling; a deploy cannot go on without it.
        diagnostics = diagnostics.map { diagnostic in
            guard diagnostic.id == "image-file-missing" else { return diagnostic }
            var error = diagnostic
            error.severity = .error
            error.message = diagnostic.message.replacingOccurrences(of: " (yet); the deployer will need it", with: "; build or copy it before applying")
            return error
        }
    }
    DiagnosticOutput.printToStandardError(diagnostics)
    guard let environment = result.environment, !diagnostics.hasErrors else { throw ExitCode.failure }
    return environment
}

func openHypervisor(_ options: ConnectionOptions) throws -> LibvirtHypervisor {
    do {
        return try LibvirtHypervisor(uri: options.resolvedURI, parallelism: options.parallel)
    } catch {
        Terminal.error("error: \(error)")
        Terminal.error("is libvirtd running? `make lab` starts one in the decoynet-lab namespace")
        throw ExitCode.failure
    }
}

func makePlan(_ environment: ResolvedEnvironment, hypervisor: LibvirtHypervisor, accel: AccelerationChoice) async throws -> (DesiredState, Plan) {
    let acceleration: Acceleration = switch accel {
    case .auto: Acceleration.detect(uri: hypervisor.uri)
    case .kvm: .kvm
    case .qemu: .qemu
    }
    do {
        let poolRoot = ProcessInfo.processInfo.environment["DECOYNET_POOL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? Deployer.defaultPoolRoot
        return try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: acceleration, poolRoot: poolRoot)
    } catch {
        Terminal.error("error: \(error)")
        throw ExitCode.failure
    }
}
