import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Hypervisor
import Logging
import Naming
import Observe

/// `decoynet serve`: what it listens on, where it keeps its data, what it drives.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Users, jobs and topologies (SQLite), the admin's token and evidence.
    public var dataDirectory: String
    public var operations: Operations
    /// The project's templates, last on the search path.
    public var templates: String?
    /// Where uploaded topologies may take images from.
    public var imageRoots: [String]
    /// Called once the server listens, with the port (for `--listen HOST:0`).
    public var onListening: @Sendable (Int) -> Void = { _ in }
    /// Volatility 3 and dissect for the forensics of snapshots and evidence; nil: not offered.
    public var forensics: ForensicsTools?
    /// Evidence quotas and retention.
    public var evidence = EvidencePolicy()

    public init(host: String, port: Int, dataDirectory: String, operations: Operations, templates: String?, imageRoots: [String]) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.operations = operations
        self.templates = templates
        self.imageRoots = imageRoots
    }
}

/// The server's parts, shared by the API, the pages and the console.
struct ServerState: Sendable {
    let store: Store
    let auth: Authenticator
    let jobs: JobRunner
    let catalog: Catalog
    let operations: Operations
    let metrics: ServerMetrics
    let evidenceDirectory: String
    /// Evidence quotas and retention.
    let evidencePolicy: EvidencePolicy
    /// Snapshots of running hosts taken through the server, one folder each.
    let snapshotsDirectory: String
    let forensics: ForensicsService
    /// Timelines and infection runs: the same folder as the command line's (`DECOYNET_RUNS`).
    let runsDirectory: String
    /// The server's own folder (its database, tokens, samples waiting for their run).
    let dataDirectory: String
    let logger: Logger
    /// How often one user may validate, and how many wrong passwords a name may be given.
    var limits = RateLimits()
    /// Downloads and folder verifications under way, per user.
    var heavy = HeavyRequests()
    /// Evidence files' hashes, read once while each file stays the same.
    var hashes = HashMemo()
    /// Evidence that resets and snapshots under way are writing, held against the quotas.
    var ledger = EvidenceLedger()
    /// Where evidence folders are hashed: two at a time for the whole server, off the threads that
    /// serve every request.
    var hashing = BlockingPool(threads: 2, name: "verify")

    /// A folder's manifest and files checked, on the hashing threads.
    func verify(_ folder: String) async throws -> (manifest: EvidenceManifest, files: [EvidenceCheck]) {
        let memo = hashes
        return try await hashing.run { try EvidenceFolder.verify(folder, memo: memo) }
    }
}

public enum DecoyNetServer {
    /// Opens the store (creating the admin on first start), then serves until SIGINT or SIGTERM.
    /// Jobs still running then are marked interrupted.
    public static func run(_ configuration: ServerConfiguration, log: @escaping @Sendable (String) -> Void) async throws {
        var logger = Logger(label: "decoynet")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
        let state = try makeState(configuration, logger: logger, log: log)

        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(SecurityHeaders())
        router.middlewares.add(Pages.ErrorPages())
        API.add(to: router, state: state)
        Pages.add(to: router, state: state)
        let console = ConsoleSocket(state: state)
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade { request, _, _ in
                try await console.upgrade(request)
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                log("listening on http://\(configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host):\(port)")
                configuration.onListening(port)
            },
            logger: logger
        )
        // Evidence past its retention goes on start, then hourly.
        let retention = Task {
            while !Task.isCancelled {
                EvidenceQuota.applyRetention(state: state)
                try? await Task.sleep(nanoseconds: 3600 * 1_000_000_000)
            }
        }
        defer { retention.cancel() }
        try await app.runService()
        await state.jobs.cancelAll()
        _ = try? state.store.markUnfinishedInterrupted()
    }

    static func makeState(_ configuration: ServerConfiguration, logger: Logger, log: @escaping @Sendable (String) -> Void) throws -> ServerState {
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try Store(path: data + "/decoynet.sqlite")
        let interrupted = try store.markUnfinishedInterrupted()
        if interrupted > 0 { log("\(interrupted) jobs were running when the server last stopped: marked interrupted") }
        if try store.userCount() == 0 {
            // The token's file first: an admin whose token nobody can read would lock the server for good.
            let token = Secrets.make()
            let path = data + "/admin.token"
            guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw StartFailure(description: "cannot write \(path): the admin's token goes there; check that folder's permissions and free space")
            }
            let admin = try store.insert(User(name: "admin", role: .admin, passwordHash: "", createdAt: Date()))
            try store.addToken(token, userID: admin.id!)
            log("created user admin; its token (API bearer token, and password for the sign-in page) is in \(path)")
        }
        let metrics = ServerMetrics()
        let catalog = try Catalog(folder: data + "/topologies", templates: configuration.templates, operations: configuration.operations,
                                  imageRoots: configuration.imageRoots)
        let jobs = JobRunner(store: store, logger: logger, metrics: metrics) { job in
            await catalog.invalidate(job.targets.split(separator: " ").map(String.init))
        }
        return ServerState(store: store, auth: Authenticator(store: store), jobs: jobs, catalog: catalog, operations: configuration.operations,
                           metrics: metrics, evidenceDirectory: data + "/evidence", evidencePolicy: configuration.evidence, snapshotsDirectory: data + "/snapshots",
                           forensics: ForensicsService(tools: configuration.forensics), runsDirectory: TimelineStore.rootFromEnvironment,
                           dataDirectory: data, logger: logger)
    }
}

/// Pages and answers that browsers must not frame, sniff or fill from other hosts.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "same-origin"
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// Answers in JSON.
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
             body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSON.encode(value))))
}

/// Why the server could not start.
struct StartFailure: Error, CustomStringConvertible {
    var description: String
}
