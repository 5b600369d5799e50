import ArgumentParser
import Engine
import Foundation

extension Snapshotter.Method: ExpressibleByArgument {}

struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Memory and disk of running hosts at one moment; each host runs on afterwards.",
        discussion: """
        live (the default): QEMU copies each host's memory while it runs, stops it for the last pages and its \
        devices (tens of milliseconds when idle), the overlay is copied and the host resumed. pause: the host is \
        paused while its memory is dumped (an ELF core) and its overlay copied (about a second per GiB). \
        snapshot.json says how long the guest stood still (paused_ms). One sealed folder per host under --evidence \
        (memory, disk.qcow2, domain.xml, snapshot.json, SHA256SUMS), for decoynet forensics. \
        Refused before anything is paused when a host is not running or the folder's disk is too small.
        """
    )

    @Argument(help: ArgumentHelp("The environment name.", valueName: "environment")) var environment: String
    @Argument(help: ArgumentHelp("The hosts to snapshot.", valueName: "host")) var hosts: [String]
    @Option(help: ArgumentHelp("Keep the snapshots in new dated folders under this folder.", valueName: "dir")) var evidence = Snapshotter.defaultDirectory
    @Option(help: ArgumentHelp("live (the guest runs on while its memory is copied) or pause.", valueName: "method")) var method = Snapshotter.Method.live
    @Flag(help: "Print the snapshots as JSON.") var json = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkEnvironmentName(environment)
        if hosts.isEmpty { throw ValidationError("name the hosts to snapshot, e.g. decoynet snapshot \(environment) ws-01") }
    }

    /// A snapshot as `--json` gives it: its folder and what snapshot.json says.
    struct Summary: Encodable {
        var host: String
        var folder: String
        var pausedMS: Int
        var memoryBytes: UInt64
        var method: String

        init(_ taken: Snapshotter.Taken) {
            method = taken.record.method
            host = taken.record.host
            folder = taken.folder
            pausedMS = taken.record.pausedMS
            memoryBytes = taken.record.memoryBytes
        }

        enum CodingKeys: String, CodingKey {
            case host, folder, pausedMS = "paused_ms", memoryBytes = "memory_bytes", method
        }
    }

    func run() async throws {
        let operations = try openOperations(connection)
        let directory = URL(fileURLWithPath: evidence).standardizedFileURL.path
        // Ctrl-C or SIGTERM: the snapshot under way is given up and its host resumed, never left paused.
        let cancellation = Cancellation()
        let interruption = Interruption { cancellation.cancel() }
        defer { withExtendedLifetime(interruption) {} }
        let taken = try await failing {
            try await operations.snapshot(environment, hosts: hosts, directory: directory, method: method,
                                          converter: projectFolder("forensics", variable: "DECOYNET_FORENSICS").map { $0 + "/memory.py" },
                                          cancellation: cancellation) { event in
                if !json { Terminal.error("snapshot: " + event.message) }
            }
        }
        if json {
            print(DiagnosticOutput.json(taken.map(Summary.init)))
        } else {
            print(Terminal.table(["HOST", "PAUSED", "MEMORY", "FOLDER"], taken.map {
                [$0.record.host, "\($0.record.pausedMS) ms", ByteCount.text($0.record.memoryBytes), $0.folder]
            }))
        }
    }
}
