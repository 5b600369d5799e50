import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Naming
import Synchronization
import Topology

/// A diagnostic as pages and API clients read it: where, how bad, what, and the fix.
struct DiagnosticView: Codable, Sendable {
    var severity: String
    var id: String
    var message: String
    /// In the file the client sent, when the problem is in it (0 when it is elsewhere, such as a template).
    var line: Int
    var column: Int
    var rendered: String

    init(_ diagnostic: Diagnostic, file: String) {
        severity = diagnostic.severity.rawValue
        id = diagnostic.id
        message = diagnostic.message
        let inFile = diagnostic.location.file == file
        line = inFile ? diagnostic.location.line : 0
        column = inFile ? diagnostic.location.column : 0
        // The server's own path of the file means nothing to the client: name it by what they sent.
        rendered = diagnostic.rendered.replacingOccurrences(of: file, with: "topology.yaml")
    }
}

/// The topologies the server keeps (as files under its data folder, where the compiler reads them)
/// and what it knows of each environment's health: read through this, refreshed in the background,
/// so that a page or a status call never waits on probing a hundred hosts.
actor Catalog {
    let folder: String
    let templates: String?
    let uri: String
    let operations: Operations
    /// Uploaded topologies may name images only here.
    let imageRoots: [String]
    /// Uploaded topologies may read template files only from the server's own templates folder
    /// (`topologies/templates`) and the project's templates: never the stored topologies beside it.
    nonisolated var templateRoots: [String] { [folder + "/templates"] + (templates.map { [$0] } ?? []) }
    /// Topologies beyond this size are refused.
    static let sizeLimit = 1 << 20

    private var lowered: [String: (source: String, environment: ResolvedEnvironment)] = [:]
    private var health: [String: (reports: [Operations.StatusReport], at: Date)] = [:]
    private var refreshing: [String: Task<Void, Never>] = [:]
    /// The status answer as sent, per environment, for the health it was made from.
    private var statusAnswers: [String: (at: Date, source: String, bytes: [UInt8])] = [:]

    init(folder: String, templates: String?, operations: Operations, imageRoots: [String]) throws {
        self.folder = folder
        self.templates = templates
        self.operations = operations
        uri = operations.hypervisor.uri
        self.imageRoots = imageRoots
        try FileManager.default.createDirectory(atPath: folder + "/templates", withIntermediateDirectories: true)
    }

    /// Validations run on a thread of their own, one at a time, beside the pages and jobs (a
    /// topology of thousands of hosts compiles for seconds); each user has at most one running.
    private let validator = BlockingPool(threads: 1, name: "validate")
    private let validating = Mutex<Set<Int64>>([])

    /// `validate` on the validation thread, for `user`: a second one of theirs while one runs is refused.
    nonisolated func validateAside(_ source: String, user: Int64) async throws -> (environment: ResolvedEnvironment?, diagnostics: [DiagnosticView]) {
        guard validating.withLock({ $0.insert(user).inserted }) else {
            throw ServerError(status: .tooManyRequests, message: "a validation of yours is still running: wait for its answer", retryAfter: 1)
        }
        defer { validating.withLock { _ = $0.remove(user) } }
        return try await validator.run { try self.validate(source) }
    }

    /// Checks a topology as the command line would before a deploy, with images confined to the
    /// store. Returns the environment when it has no error. Not on the actor: it reads only what
    /// never changes, and every page and job would otherwise wait for a student's big file.
    nonisolated func validate(_ source: String) throws -> (environment: ResolvedEnvironment?, diagnostics: [DiagnosticView]) {
        guard source.utf8.count <= Self.sizeLimit else {
            throw ServerError(status: .contentTooLarge, message: "a topology may be at most \(Self.sizeLimit / 1024) KiB")
        }
        // Beside the stored topologies, so that relative template paths mean what they will mean once stored.
        let path = folder + "/.upload-" + UUID().uuidString.lowercased() + ".yaml"
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = Operations.load(path: path, templates: templates, forDeploy: true, uri: uri, imageRoots: imageRoots, templateRoots: templateRoots)
        return (loaded.environment, loaded.diagnostics.map { DiagnosticView($0, file: path) })
    }

    /// The environment a record describes (a copy: its original's topology, numbered), lowered once
    /// per version of its source.
    func resolved(_ record: EnvironmentRecord) -> ResolvedEnvironment? {
        if let cached = lowered[record.name], cached.source == record.source { return cached.environment }
        let base = record.copyOf ?? record.name
        let path = folder + "/" + base + ".yaml"
        if (try? String(contentsOfFile: path, encoding: .utf8)) != record.source {
            try? record.source.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let instance = record.copyOf.flatMap { Self.copyNumber(record.name, of: $0) }.map(InstanceSelector.number)
        guard let environment = Operations.load(path: path, templates: templates, instance: instance, forDeploy: false, uri: uri,
                                                imageRoots: imageRoots, templateRoots: templateRoots).environment else { return nil }
        lowered[record.name] = (record.source, environment)
        return environment
    }

    /// `ENV-i3` of `ENV` is copy 3.
    static func copyNumber(_ name: String, of base: String) -> Int? {
        guard name.hasPrefix(base + "-i") else { return nil }
        return Int(name.dropFirst(base.count + 2))
    }

    /// The latest status of an environment: cached for `maxAge` seconds; when older, the cached one
    /// is returned while a refresh runs (unless there is none yet, then it waits for it).
    func status(_ name: String, maxAge: Double = 5) async -> (reports: [Operations.StatusReport], at: Date)? {
        if let cached = health[name] {
            if Date().timeIntervalSince(cached.at) > maxAge { startRefresh(name) }
            return cached
        }
        startRefresh(name)
        await refreshing[name]?.value
        return health[name]
    }

    /// The status API's answer: encoded once per health reading, since pipelines and pages poll it.
    func statusAnswer(_ record: EnvironmentRecord) async -> [UInt8] {
        let status = await status(record.name)
        if let cached = statusAnswers[record.name], cached.at == status?.at, cached.source == record.source { return cached.bytes }
        struct Answer: Encodable {
            var environment: String
            var checkedAt: Date?
            var hosts: [HostView]
        }
        let bytes = JSON.encode(Answer(environment: record.name, checkedAt: status?.at, hosts: ViewBuilder.hosts(resolved(record), status: status?.reports)))
        if let at = status?.at { statusAnswers[record.name] = (at, record.source, bytes) }
        return bytes
    }

    /// Forgets what is known (after a job) and reads it again.
    func invalidate(_ names: [String]) async {
        for name in names {
            health[name] = nil
            startRefresh(name)
        }
        for name in names { await refreshing[name]?.value }
    }

    func forget(_ names: [String]) {
        for name in names {
            health[name] = nil
            lowered[name] = nil
            statusAnswers[name] = nil
        }
    }

    private func startRefresh(_ name: String) {
        guard refreshing[name] == nil else { return }
        let operations = operations
        refreshing[name] = Task {
            let reports = (try? await operations.status([name])) ?? []
            self.finishRefresh(name, reports)
        }
    }

    private func finishRefresh(_ name: String, _ reports: [Operations.StatusReport]) {
        health[name] = (reports, Date())
        refreshing[name] = nil
    }

    /// Hosts of every environment known, by state, for metrics.
    func hostCounts() -> [String: Int] {
        var counts: [String: Int] = [:]
        for (reports, _) in health.values {
            for report in reports {
                for host in report.health {
                    let state = host.healthy ? "healthy" : host.state == "running" ? "unhealthy" : host.state == "shutoff" ? "stopped" : "unknown"
                    counts[state, default: 0] += 1
                }
            }
        }
        return counts
    }
}
