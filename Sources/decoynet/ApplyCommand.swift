import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

/// `--instances N` and `--instance NAME`: copies of the topology, each its own environment.
struct InstanceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Build N isolated copies, ENV-i1 ... ENV-iN, each in its own address space.", valueName: "n"))
    var instances: Int?

    @Option(help: ArgumentHelp("Build one named copy, ENV-NAME.", valueName: "name"))
    var instance: String?

    func validate() throws {
        if instances != nil, instance != nil { throw ValidationError("--instances and --instance exclude each other.") }
        if let instances, !(1 ... 200).contains(instances) { throw ValidationError("--instances must be 1 to 200.") }
        if let instance, !InstanceSelector.isValidName(instance) {
            throw ValidationError("--instance takes lowercase letters and digits, at most 10.")
        }
        if let instance, instance.first == "i", instance.dropFirst().allSatisfy(\.isNumber), instance.count > 1 {
            throw ValidationError("--instance \(instance): names i1, i2 ... are those of --instances copies; choose another name.")
        }
    }

    var selectors: [InstanceSelector?] {
        if let instances { return (1 ... instances).map { .number($0) } }
        if let instance { return [.name(instance)] }
        return [nil]
    }
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would create, replace, update, start or delete, without changing anything."
    )

    @Argument(help: ArgumentHelp("The topology file.", valueName: "file")) var file: String
    @Flag(help: "Print the plan as JSON.") var json = false
    @Flag(help: "List unchanged objects too.") var all = false
    @Option(help: "Domain type: auto, kvm or qemu (TCG).") var accel: AccelerationChoice = .auto
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let environments = try copies.selectors.map { try loadEnvironment(file, topology: topology, forDeploy: false, instance: $0) }
        let hypervisor = try openHypervisor(connection)
        try await checkAddresses(environments, hypervisor: hypervisor)
        var plans: [Plan] = []
        for environment in environments { plans.append(try await makePlan(environment, hypervisor: hypervisor, accel: accel).1) }
        if json {
            let output = plans.map { PlanOutput.json($0, uri: hypervisor.uri) }
            print(output.count == 1 ? DiagnosticOutput.json(output[0]) : DiagnosticOutput.json(output))
        } else {
            print(plans.map { PlanOutput.text($0, uri: hypervisor.uri, showKept: all) }.joined(separator: "\n\n"))
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
    @OptionGroup var copies: InstanceOptions
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    struct Report: Encodable {
        var plans: [PlanOutput.JSONPlan]
        var steps: [PlanOutput.JSONOutcome]
        var health: [HostHealth]?
        var succeeded: Bool
        var interrupted: Bool
    }

    func run() async throws {
        let environments = try copies.selectors.map { try loadEnvironment(file, topology: topology, forDeploy: true, connection: connection, instance: $0) }
        let hypervisor = try openHypervisor(connection)
        let locks = try lockEnvironments(environments.map(\.name), uri: hypervisor.uri)
        defer { withExtendedLifetime(locks) {} }
        try await checkAddresses(environments, hypervisor: hypervisor)
        var planned: [(plan: Plan, desired: DesiredState)] = []
        for environment in environments {
            let (desired, plan) = try await makePlan(environment, hypervisor: hypervisor, accel: accel)
            planned.append((plan, desired))
        }
        if !json { for (plan, _) in planned { Terminal.error(PlanOutput.text(plan, uri: hypervisor.uri)) } }

        let cancellation = Cancellation()
        let interruption = Interruption {
            cancellation.cancel()
            Terminal.error("\ninterrupted: no new steps start; running ones finish. Run apply or destroy again to converge.")
        }
        let capture = localCapture(hypervisor)
        let steps = planned.reduce(0) { $0 + $1.plan.actions.filter { $0.kind != .keep }.count }
        let progress = Progress(phase: "apply", total: Deployer.steps(planned, hypervisor: hypervisor, capture: capture).count, quiet: json)
        let outcomes = await Deployer.apply(planned, hypervisor: hypervisor, parallelism: connection.parallel, capture: capture,
                                            cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        let names = environments.map(\.name).joined(separator: ", ")
        if failures.isEmpty, !json { Terminal.error("applied \(steps) changes to \(names) in \(progress.elapsed)") }
        var health: [HostHealth]?
        if failures.isEmpty, !noWait, !cancellation.isCancelled {
            let total = environments.reduce(0) { $0 + $1.hosts.count }
            if !json { Terminal.error("waiting for health (\(total) hosts)...") }
            let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
            health = try await checker.check(environments: environments.map(\.name), wait: true, timeout: timeout, cancellation: cancellation)
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        if json {
            print(DiagnosticOutput.json(Report(plans: planned.map { PlanOutput.json($0.plan, uri: hypervisor.uri) }, steps: PlanOutput.json(outcomes),
                                               health: health, succeeded: failures.isEmpty && healthy, interrupted: cancellation.isCancelled)))
        } else {
            if !failures.isEmpty {
                Terminal.error("apply failed: \(failures.count) of \(outcomes.count) steps did not complete:")
                PlanOutput.printFailures(failures)
            }
            if let health { print(PlanOutput.healthTable(health, showEnvironment: environments.count > 1)) }
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty || !healthy { throw ExitCode.failure }
    }
}

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove every domain, overlay, network, bridge, packet capture and pool of an environment, and nothing else."
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Flag(help: "Print the steps as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        let names = try await copies.environments(environment, hypervisor: hypervisor)
        let locks = try lockEnvironments(names, uri: hypervisor.uri)
        defer { withExtendedLifetime(locks) {} }
        let capture = localCapture(hypervisor)
        var plans: [Plan] = []
        for name in names { plans.append(try await Deployer.destroyPlan(environment: name, hypervisor: hypervisor)) }
        let objects = plans.reduce(0) { $0 + $1.actions.count }
        let leftCaptures = names.contains { capture?.hasState(environment: $0) ?? false }
        if objects == 0, !leftCaptures {
            if json { print(DiagnosticOutput.json(PlanOutput.json([]))) } else { Terminal.error("nothing to destroy: no environment \(environment) on \(hypervisor.uri)") }
            return
        }
        let cancellation = Cancellation()
        let interruption = Interruption { cancellation.cancel() }
        let progress = Progress(phase: "destroy", total: objects, quiet: json)
        let outcomes = await Deployer.destroy(plans, hypervisor: hypervisor, parallelism: connection.parallel, capture: capture,
                                              cancellation: cancellation, onEvent: progress.handle)
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(outcomes)
        if json {
            print(DiagnosticOutput.json(PlanOutput.json(outcomes)))
        } else if failures.isEmpty {
            Terminal.error("destroyed \(names.joined(separator: ", ")): \(objects) objects removed in \(progress.elapsed)")
        } else {
            Terminal.error("destroy failed: \(failures.count) of \(outcomes.count) steps did not complete:")
            PlanOutput.printFailures(failures)
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty { throw ExitCode.failure }
    }
}

// MARK: - Shared steps

/// `forDeploy` on a local QEMU connection: base images must exist, or nothing can boot.
func loadEnvironment(_ file: String, topology: TopologyOptions, forDeploy: Bool, connection: ConnectionOptions? = nil,
                     instance: InstanceSelector? = nil) throws -> ResolvedEnvironment {
    let result = Compiler.lower(path: file, projectTemplates: topology.templatesDirectory, instance: instance)
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

/// One lock per environment, always taken in the same order, so that two commands cannot deadlock.
func lockEnvironments(_ names: [String], uri: String) throws -> [EnvironmentLock] {
    try names.sorted().map { name in
        try EnvironmentLock(environment: name, uri: uri) {
            Terminal.error("waiting for another decoynet command on environment \(name) to finish...")
        }
    }
}

/// Refuses, before anything is created, networks that overlap each other, other environments'
/// networks on the connection, or routes of libvirtd's namespace.
func checkAddresses(_ environments: [ResolvedEnvironment], hypervisor: LibvirtHypervisor) async throws {
    let problems = try await AddressCheck.conflicts(environments, hypervisor: hypervisor)
    guard !problems.isEmpty else { return }
    for problem in problems { Terminal.error("error: \(problem)") }
    Terminal.error("nothing was changed; choose other addresses (or other copies) for these networks")
    throw ExitCode.failure
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
