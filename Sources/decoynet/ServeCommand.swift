import ArgumentParser
import Engine
import Foundation
import Naming
import Server
import Topology

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the web pages and the REST API (/api/v1) over the same engine as this command line.",
        discussion: """
        On its first start with an empty data folder, the server creates the user admin and writes its token to \
        DIR/admin.token (mode 0600): the API's bearer token, and the password of the sign-in page. Health probes reach \
        guests from where the server runs: ip netns exec decoynet-lab decoynet serve
        """
    )

    @Option(help: ArgumentHelp("Address and port to listen on; port 0 picks a free one.", valueName: "host:port")) var listen = "127.0.0.1:8080"
    @Option(help: ArgumentHelp("Where the server keeps users, jobs, topologies and evidence.", valueName: "dir")) var data = "/var/lib/decoynet/server"
    @Option(help: ArgumentHelp("Evidence one environment may keep, in MiB, GiB or TiB; 'none' for no limit.", valueName: "size"))
    var evidenceQuota = "20GiB"
    @Option(help: ArgumentHelp("Evidence of all the environments one user owns (a student's copies), in MiB, GiB or TiB; 'none' for no limit.", valueName: "size"))
    var evidenceUserQuota = "40GiB"
    @Option(help: ArgumentHelp("Days an evidence folder is kept before the server removes it; 'none' keeps it until removed.", valueName: "days"))
    var evidenceRetention = "none"
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        _ = try address()
        _ = try evidencePolicy()
    }

    /// The evidence options as the server's policy.
    func evidencePolicy() throws -> EvidencePolicy {
        func size(_ text: String, _ option: String) throws -> UInt64? {
            if text == "none" { return nil }
            switch Quantity.mebibytes(text, plainUnit: nil) {
            case let .success(mebibytes): return mebibytes << 20
            case let .failure(.decimalUnit(suggestion)): throw ValidationError("\(option) takes binary units: \(suggestion)")
            case .failure: throw ValidationError("\(option) takes a size such as 20GiB or 500MiB, or 'none'")
            }
        }
        var retention: Int?
        if evidenceRetention != "none" {
            guard let days = Int(evidenceRetention), (1 ... 36500).contains(days) else {
                throw ValidationError("--evidence-retention takes whole days from 1, or 'none'")
            }
            retention = days
        }
        return EvidencePolicy(perEnvironment: try size(evidenceQuota, "--evidence-quota"), perUser: try size(evidenceUserQuota, "--evidence-user-quota"),
                              retentionDays: retention)
    }

    /// `HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback).
    func address() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0 ... 65535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT, such as 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        let (host, port) = try address()
        if !["127.0.0.1", "::1", "localhost"].contains(host) {
            Terminal.error("warning: listening on \(host), beyond this machine: anyone who can reach it can try to sign in")
        }
        let operations = try openOperations(connection)
        var configuration = ServerConfiguration(host: host, port: port, dataDirectory: URL(fileURLWithPath: data).standardizedFileURL.path,
                                                operations: operations, templates: topology.templatesDirectory, imageRoots: topology.imageRoots)
        configuration.evidence = try evidencePolicy()
        configuration.forensics = projectFolder("forensics", variable: "DECOYNET_FORENSICS").map(ForensicsTools.found)
        do {
            try await DecoyNetServer.run(configuration) { Terminal.error($0) }
        } catch {
            Terminal.error("error: \(error)")
            throw ExitCode.failure
        }
    }
}
