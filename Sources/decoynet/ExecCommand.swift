import ArgumentParser
import Engine
import Foundation
import Hypervisor
import Naming

struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a running host through its QEMU guest agent.",
        discussion: "decoynet exec ENV HOST -- CMD [ARG...]: prints the command's output and exits with its status. No network path into the guest is used."
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Argument(help: ArgumentHelp("The host name.", valueName: "host")) var host: String
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command")) var command: [String] = []
    @Option(help: ArgumentHelp("Seconds before giving up on the command.", valueName: "seconds")) var timeout: Double = 60
    @Flag(help: "Print exit status and output as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkEnvironmentName(environment)
        if command.isEmpty { throw ValidationError("give the command after --, e.g. decoynet exec \(environment) \(host) -- hostname") }
    }

    func run() async throws {
        let operations = try openOperations(connection)
        let result = try await failing { try await operations.exec(environment, host: host, arguments: command, timeout: timeout) }
        if json {
            print(DiagnosticOutput.json(result))
        } else {
            FileHandle.standardOutput.write(Data(result.stdout.utf8))
            FileHandle.standardError.write(Data(result.stderr.utf8))
            if result.timedOut { Terminal.error("error: the command ran longer than \(Int(timeout))s") }
        }
        if result.exitCode != 0 || result.timedOut { throw ExitCode(Int32(clamping: result.timedOut ? 124 : result.exitCode)) }
    }
}

struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a host's serial console (Ctrl-] leaves).",
        discussion: "Hands the terminal to libvirt's own console client, virsh console."
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Argument(help: ArgumentHelp("The host name.", valueName: "host")) var host: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() throws {
        let arguments = ["virsh", "-c", connection.resolvedURI, "console", Naming.object(environment: environment, name: host)]
        var pointers = arguments.map { strdup($0) } + [nil]
        execvp("virsh", &pointers)
        Terminal.error("error: cannot run virsh (install libvirt-clients): \(String(cString: strerror(errno)))")
        throw ExitCode.failure
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Operation tests: every host's probes, the topology's checks from inside its hosts, stealthy hosts' detector self-test.",
        discussion: """
        Probes reach guests from where their networks are: ip netns exec decoynet-lab decoynet test ENV
        A stealthy host is asked, from its serial console, what malware asks to tell a virtual machine (systemd-detect-virt, \
        virt-what, /proc/cpuinfo, lspci, dmesg, DMI, ACPI tables, modules); each tell it gives is a failed test of kind stealth.
        """
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Flag(help: "Try each probe once instead of waiting for health.") var noWait = false
    @Option(help: ArgumentHelp("Seconds to wait for health, instead of each host's own timeout.", valueName: "seconds")) var timeout: Double?
    @Flag(help: "Run the detector self-test on every host, not only the stealthy ones (through the guest agent).") var tells = false
    @Flag(help: "Print the results as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try checkEnvironmentName(environment) }

    func run() async throws {
        let operations = try openOperations(connection)
        let results = try await failing { try await operations.test(environment, wait: !noWait, timeout: timeout, tells: tells) }
        if results.isEmpty {
            Terminal.error("error: no environment \(environment) on \(operations.hypervisor.uri)")
            throw ExitCode.failure
        }
        if json {
            print(DiagnosticOutput.json(results))
        } else {
            print(Terminal.table(["KIND", "HOST", "TEST", "RESULT", "DETAIL"], results.map {
                [$0.kind, $0.host, $0.test, $0.passed ? "ok" : "FAILED", $0.detail]
            }))
            let failed = results.filter { !$0.passed }.count
            Terminal.error(failed == 0 ? "all \(results.count) operation tests pass" : "\(failed) of \(results.count) operation tests FAILED")
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode.failure }
    }
}
