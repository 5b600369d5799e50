import ArgumentParser
import Engine
import Foundation
import Hypervisor
import Naming

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Return hosts to their clean state in parallel, keeping what the guests changed as evidence.",
        discussion: """
        Each host is stopped, its overlay is discarded (or, with --evidence, moved into the evidence folder with \
        its console log, definition, DHCP leases and, with --memory, a memory dump), a fresh overlay is made on \
        the same base image and the host starts again. Networks and the other hosts keep running. Each reset \
        with --evidence adds a new dated folder with a manifest.json and a SHA256SUMS file.

        A host whose clean state apply kept (its memory and disk the moment it first turned healthy) is \
        restored from it instead of booted, in about a second, its clock stepped to now and its lease renewed; \
        --cold boots every host. A state that does not restore falls back to a boot, with a warning. Hosts come \
        back in boot order, restored twice as many at once as there are cores; those that boot are paced as apply \
        paces them (--boot-slots).
        """
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Argument(help: ArgumentHelp("Hosts to reset; all when omitted.", valueName: "host")) var hosts: [String] = []
    @Option(help: ArgumentHelp("Keep the evidence in a new dated folder under this folder.", valueName: "dir")) var evidence: String?
    @Flag(help: "With --evidence: also dump each running guest's memory.") var memory = false
    @Flag(help: "Boot every host instead of restoring its clean state.") var cold = false
    @Flag(help: "Do not wait for the hosts to be healthy again.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait for health, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Option(help: ArgumentHelp("Hosts booting at once, of those not restored (default: the machine's cores); a host boots until it is healthy.",
                               valueName: "n"))
    var bootSlots: Int?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var copies: CopiesFlag
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkEnvironmentName(environment)
        if memory, evidence == nil { throw ValidationError("--memory keeps a memory dump as evidence: give --evidence DIR too.") }
        if let bootSlots, !(1 ... 256).contains(bootSlots) { throw ValidationError("--boot-slots must be 1 to 256.") }
        if bootSlots != nil, noWait {
            throw ValidationError("--boot-slots paces the boots reset waits for; with --no-wait every domain starts at once: give one of them, not both.")
        }
    }

    func run() async throws {
        let operations = try openOperations(connection)
        var failed = false
        for name in try await copies.environments(environment, operations: operations) {
            let options = Resetter.Options(hosts: hosts, evidenceDirectory: evidence.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, memory: memory,
                                         cold: cold)
            let printer = EventPrinter(phase: "reset", total: hosts.count, quiet: json)
            let (report, interrupted) = try await interruptible { cancellation in
                try await operations.reset(name, options: options, wait: !noWait, timeout: timeout,
                                           bootSlots: bootSlots ?? ProcessInfo.processInfo.activeProcessorCount, cancellation: cancellation, events: printer.handle)
            }
            printer.finish()
            if json {
                print(DiagnosticOutput.json(report))
            } else {
                PlanOutput.printFailures(report.steps)
                if let health = report.health { print(PlanOutput.healthTable(health)) }
            }
            if interrupted { throw ExitCode(130) }
            failed = failed || !report.succeeded
        }
        if failed { throw ExitCode.failure }
    }
}
