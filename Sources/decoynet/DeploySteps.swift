import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

/// Steps every verb that deploys shares: loading, locking, checking addresses, planning.

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
        return try await Deployer.plan(environment, hypervisor: hypervisor, acceleration: acceleration, poolRoot: poolRoot())
    } catch {
        Terminal.error("error: \(error)")
        throw ExitCode.failure
    }
}

/// Where overlays go: `DECOYNET_POOL_ROOT` when set, else the default.
func poolRoot() -> String {
    ProcessInfo.processInfo.environment["DECOYNET_POOL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? Deployer.defaultPoolRoot
}
