import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Naming
import Topology

/// What every verb that operates on environments shares: loading a topology, opening the
/// connection, and turning the engine's failures into messages and exit codes.

/// `forDeploy` on a local QEMU connection: base images must exist, or nothing can boot.
func loadEnvironment(_ file: String, topology: TopologyOptions, forDeploy: Bool, connection: ConnectionOptions? = nil,
                     instance: InstanceSelector? = nil) throws -> ResolvedEnvironment {
    let loaded = Operations.load(path: file, templates: topology.templatesDirectory, instance: instance, forDeploy: forDeploy,
                                 uri: connection?.resolvedURI, imageRoots: topology.imageRoots)
    DiagnosticOutput.printToStandardError(loaded.diagnostics)
    guard let environment = loaded.environment else { throw ExitCode.failure }
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

/// The engine on the connection, with this machine's probes and (for local QEMU) packet captures.
func openOperations(_ options: ConnectionOptions) throws -> Operations {
    let hypervisor = try openHypervisor(options)
    var operations = Operations(hypervisor: hypervisor, prober: SocketProber(), parallelism: options.parallel,
                                poolRoot: Operations.poolRootFromEnvironment,
                                capture: Naming.isLocalQEMU(hypervisor.uri) ? LocalTrafficCapture() : nil)
    if Naming.isLocalQEMU(hypervisor.uri) { operations.watchers = LocalWatchers(executable: executablePath, uri: hypervisor.uri) }
    operations.waiting = { name in Terminal.error("waiting for another decoynet command on environment \(name) to finish...") }
    return operations
}

/// This binary, for the processes it starts of itself (an environment's watcher).
var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

func acceleration(_ choice: AccelerationChoice, uri: String) -> Acceleration {
    switch choice {
    case .auto: Acceleration.detect(uri: uri)
    case .kvm: .kvm
    case .qemu: .qemu
    }
}

/// Runs an engine call with Ctrl-C (and SIGTERM) cancelling it: no new steps start, running ones
/// finish. An `OperationFailure` or libvirt error is printed and becomes exit status 1.
func interruptible<T>(_ body: (Cancellation) async throws -> T) async throws -> (result: T, interrupted: Bool) {
    let cancellation = Cancellation()
    let interruption = Interruption {
        cancellation.cancel()
        Terminal.error("\ninterrupted: no new steps start; running ones finish. Run the command again (or destroy) to converge.")
    }
    defer { withExtendedLifetime(interruption) {} }
    return (try await failing { try await body(cancellation) }, cancellation.isCancelled)
}

/// An engine call whose failure is printed (each problem on its line, then the hint) and exits 1.
func failing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let failure as OperationFailure {
        for problem in failure.problems { Terminal.error("error: \(problem)") }
        if let hint = failure.hint { Terminal.error(hint) }
        throw ExitCode.failure
    } catch let exit as ExitCode {
        throw exit
    } catch {
        Terminal.error("error: \(error)")
        throw ExitCode.failure
    }
}
