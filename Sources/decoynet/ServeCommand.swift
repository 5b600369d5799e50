import ArgumentParser
import Engine
import Foundation
import Naming
import Server

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
    @OptionGroup var topology: TopologyOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { _ = try address() }

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
        configuration.forensics = projectFolder("forensics", variable: "DECOYNET_FORENSICS").map(ForensicsTools.found)
        do {
            try await DecoyNetServer.run(configuration) { Terminal.error($0) }
        } catch {
            Terminal.error("error: \(error)")
            throw ExitCode.failure
        }
    }
}
