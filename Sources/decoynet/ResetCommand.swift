import ArgumentParser
import Engine
import Foundation
import Hypervisor

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Return hosts to their clean state in parallel, keeping what the guests changed as evidence.",
        discussion: """
        Each host is stopped, its overlay is discarded (or, with --evidence, moved into the evidence folder with \
        its console log, definition, DHCP leases and, with --memory, a memory dump), a fresh overlay is made on \
        the same base image and the host starts again. Networks and the other hosts keep running. Each reset \
        with --evidence adds a new dated folder with a manifest.json and a SHA256SUMS file.
        """
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Argument(help: ArgumentHelp("Hosts to reset; all when omitted.", valueName: "host")) var hosts: [String] = []
    @Option(help: ArgumentHelp("Keep the evidence in a new dated folder under this folder.", valueName: "dir")) var evidence: String?
    @Flag(help: "With --evidence: also dump each running guest's memory.") var memory = false
    @Flag(help: "Do not wait for the hosts to be healthy again.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait for health, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkEnvironmentName(environment)
        if memory, evidence == nil { throw ValidationError("--memory keeps a memory dump as evidence: give --evidence DIR too.") }
    }

    struct Report: Encodable {
        var environment: String
        var hosts: [String]
        var steps: [PlanOutput.JSONOutcome]
        var evidence: String?
        var manifest: EvidenceManifest?
        var health: [HostHealth]?
        var succeeded: Bool
    }

    func run() async throws {
        let hypervisor = try openHypervisor(connection)
        var failed = false
        for name in try await copies.environments(environment, hypervisor: hypervisor) {
            do {
                try await reset(name, hypervisor: hypervisor)
            } catch let exit as ExitCode where exit == .failure {
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }

    func reset(_ environment: String, hypervisor: LibvirtHypervisor) async throws {
        let lock = try lockEnvironments([environment], uri: hypervisor.uri)
        defer { withExtendedLifetime(lock) {} }
        let evidenceDirectory = evidence.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let options = Resetter.Options(hosts: hosts, evidenceDirectory: evidenceDirectory, memory: memory, parallelism: connection.parallel)
        let cancellation = Cancellation()
        let interruption = Interruption { cancellation.cancel() }
        let progress = Progress(phase: "reset", total: hosts.isEmpty ? 0 : hosts.count, quiet: json)
        let report: Resetter.Report
        do {
            report = try await Resetter.reset(environment: environment, options: options, hypervisor: hypervisor,
                                              capture: localCapture(hypervisor), cancellation: cancellation, onEvent: progress.handle)
        } catch {
            Terminal.error("error: \(error)")
            throw ExitCode.failure
        }
        progress.finish()
        withExtendedLifetime(interruption) {}
        let failures = PlanOutput.failures(report.outcomes)
        var health: [HostHealth]?
        if failures.isEmpty, !noWait, !cancellation.isCancelled {
            if !json { Terminal.error("waiting for health (\(report.hosts.count) hosts)...") }
            let checker = HealthChecker(hypervisor: hypervisor, prober: SocketProber())
            health = try await checker.check(environment: environment, hosts: Set(report.hosts), wait: true, timeout: timeout, cancellation: cancellation)
        }
        let healthy = health?.allSatisfy(\.healthy) ?? true
        if json {
            print(DiagnosticOutput.json(Report(environment: environment, hosts: report.hosts, steps: PlanOutput.json(report.outcomes),
                                               evidence: report.evidenceFolder, manifest: report.manifest, health: health,
                                               succeeded: failures.isEmpty && healthy)))
        } else {
            PlanOutput.printFailures(failures)
            if let folder = report.evidenceFolder { Terminal.error("evidence kept in \(folder) (manifest.json, SHA256SUMS)") }
            if let health { print(PlanOutput.healthTable(health)) }
        }
        if cancellation.isCancelled { throw ExitCode(130) }
        if !failures.isEmpty || !healthy { throw ExitCode.failure }
    }
}

/// Packet captures run on this machine, next to the libvirtd they record: only for local QEMU.
func localCapture(_ hypervisor: LibvirtHypervisor) -> (any TrafficCapture)? {
    hypervisor.uri.hasPrefix("qemu:///") ? LocalTrafficCapture() : nil
}
