import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Observe

/// Snapshots and forensics through the server (OBSERVE.md, "Forensics of a running host"): a
/// snapshot is a job (`POST …/snapshot {"hosts": [...]}`); a snapshot's or a reset's evidence is
/// read by `GET …/forensics/VIEW`, one analysis at a time for the whole server.
enum ForensicsAPI {
    struct SnapshotSummary: Codable {
        var name: String
        var host: String
        var taken: Date
        var pausedMS: Int
        var memoryBytes: UInt64
        /// What the folder takes on disk (in listings).
        var bytes: UInt64?

        init(name: String, record: SnapshotRecord, bytes: UInt64? = nil) {
            self.name = name
            host = record.host
            taken = record.taken
            pausedMS = record.pausedMS
            memoryBytes = record.memoryBytes
            self.bytes = bytes
        }

        enum CodingKeys: String, CodingKey { case name, host, taken, pausedMS = "paused_ms", memoryBytes = "memory_bytes", bytes }
    }

    static func add(to api: RouterGroup<BasicRequestContext>, state: ServerState) {
        api.get("environments/:name/snapshots") { request, context in
            let (_, record) = try API.visible(request, context, state: state)
            return json(snapshots(of: record.name, state: state))
        }
        api.delete("environments/:name/snapshots/:folder") { request, context in
            let (principal, record) = try API.visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            try remove(try snapshotFolder(record, try context.parameters.require("folder"), state: state), principal: principal, state: state)
            return Response(status: .noContent)
        }
        api.get("environments/:name/snapshots/:folder/forensics/:view") { request, context in
            let (_, record) = try API.visible(request, context, state: state)
            let folder = try snapshotFolder(record, try context.parameters.require("folder"), state: state)
            return try await answer(try view(context), folder: folder, record: record, state: state)
        }
        api.get("environments/:name/evidence/:folder/hosts/:host/forensics/:view") { request, context in
            let (_, record) = try API.visible(request, context, state: state)
            let folder = try API.evidenceFolder(record, context, state: state)
            let host = try context.parameters.require("host")
            // The manifest names the hosts (verify would hash every file of the folder on each request).
            guard EvidenceFolder.hosts(folder).contains(host) else {
                throw ServerError.notFound("host \(host) in this evidence folder")
            }
            return try await answer(try view(context), folder: folder + "/" + host, record: record, state: state)
        }
    }

    static func view(_ context: BasicRequestContext) throws -> Forensics.View {
        let name = try context.parameters.require("view")
        guard let view = Forensics.View(rawValue: name) else {
            throw ServerError.notFound("forensics view \(name): it is processes, connections, modules or files")
        }
        return view
    }

    static func answer(_ view: Forensics.View, folder: String, record: EnvironmentRecord, state: ServerState) async throws -> Response {
        let result = try await analyse(view, folder: folder, record: record, state: state)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(try Forensics.encode(result)))))
    }

    /// One analysis, its file changes put in the environment's timeline as the CLI does.
    static func analyse(_ view: Forensics.View, folder: String, record: EnvironmentRecord, state: ServerState) async throws -> Forensics.Result {
        let source: Forensics.Source
        do { source = try Forensics.Source.open(folder) } catch { throw ServerError.notFound("evidence in \(URL(fileURLWithPath: folder).lastPathComponent)") }
        let result: Forensics.Result
        do {
            result = try await state.forensics.analyse(view, of: source)
        } catch let failure as Forensics.Failure {
            throw ServerError(status: .unprocessableContent, message: failure.description)
        }
        if case let .files(changes) = result, let tools = state.forensics.tools, source.environment == record.name {
            Forensics.recordInTimeline(changes, source: source, store: TimelineStore(root: state.runsDirectory, environment: record.name), tools: tools)
        }
        return result
    }

    /// The environment's snapshots, newest first: folders `ENV-HOST-TIME` whose snapshot.json names it.
    static func snapshots(of environment: String, state: ServerState) -> [SnapshotSummary] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.snapshotsDirectory)) ?? []
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return names.filter { $0.hasPrefix(environment + "-") }.compactMap { name -> SnapshotSummary? in
            guard let data = FileManager.default.contents(atPath: state.snapshotsDirectory + "/" + name + "/snapshot.json"),
                  let record = try? decoder.decode(SnapshotRecord.self, from: data), record.environment == environment else { return nil }
            return SnapshotSummary(name: name, record: record, bytes: EvidenceStore.bytes(of: state.snapshotsDirectory + "/" + name))
        }.sorted { ($0.taken, $0.name) > ($1.taken, $1.name) }
    }

    /// Removes a snapshot folder for good (an admin or instructor: a student's snapshots are the
    /// class's record, as their evidence is).
    static func remove(_ folder: String, principal: Principal, state: ServerState) throws {
        guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor removes snapshots") }
        try EvidenceStore.remove(folder, marker: "snapshot.json")
        state.logger.notice("snapshot \(URL(fileURLWithPath: folder).lastPathComponent) removed by \(principal.user.name)")
    }

    /// Only a folder the listing gives: no path of the caller's choosing reaches the disk.
    static func snapshotFolder(_ record: EnvironmentRecord, _ name: String, state: ServerState) throws -> String {
        guard snapshots(of: record.name, state: state).contains(where: { $0.name == name }) else { throw ServerError.notFound("snapshot \(name)") }
        return state.snapshotsDirectory + "/" + name
    }
}

/// Analyses one at a time, off Swift's cooperative threads: Volatility and the disk reader take
/// seconds of a core each, and a classroom of students asking at once must not starve the server.
actor ForensicsService {
    nonisolated let tools: ForensicsTools?
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(tools: ForensicsTools?) {
        self.tools = tools
    }

    func analyse(_ view: Forensics.View, of source: Forensics.Source) async throws -> Forensics.Result {
        guard let tools else {
            throw ServerError(status: .serviceUnavailable, message: "forensics is not offered: the server found no forensics/ folder (set DECOYNET_FORENSICS)")
        }
        if busy { await withCheckedContinuation { waiting.append($0) } } else { busy = true }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Forensics.Result, Error>) in
            let thread = Thread {
                do { continuation.resume(returning: try Forensics.analyse(view, of: source, tools: tools)) } catch { continuation.resume(throwing: error) }
            }
            thread.start()
        }
    }
}
