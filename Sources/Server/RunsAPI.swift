import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Observe

/// The API of infection runs and timelines (OBSERVE.md): an environment's events, live as
/// Server-Sent Events; a run started with the sample as multipart form data, carried out as a job;
/// a run's record, timeline and STIX bundle.
enum RunsAPI {
    /// A run's id as `decoynet run` makes them: its start in UTC and four hex digits.
    static func isRunID(_ text: String) -> Bool {
        text.range(of: #"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$"#, options: .regularExpression) != nil
    }

    static func add(to api: RouterGroup<BasicRequestContext>, state: ServerState) {
        api.get("environments/:name/events") { request, context in
            let (_, record) = try API.visible(request, context, state: state)
            let store = TimelineStore(root: state.runsDirectory, environment: record.name)
            guard FileManager.default.fileExists(atPath: store.settings) || FileManager.default.fileExists(atPath: store.current) else {
                throw ServerError.notFound("a timeline of \(record.name): it is watched when its topology has an internet host or 'observe: true'")
            }
            let filter = try filter(request)
            // 0: none of what is kept (a page that shows those already, following for the rest).
            let limit = min(10_000, max(0, request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 1000))
            let follow = request.uri.queryParameters.get("follow") == "true" || (request.headers[.accept]?.contains("text/event-stream") ?? false)
            let tail = TimelineTail(path: store.current, fromEnd: true)
            let recent = limit == 0 ? [] : tail.history(store, filter: filter, limit: limit)
            guard follow else {
                return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                                body: ResponseBody(byteBuffer: ByteBuffer(string: "[" + recent.map { $0.jsonLine() }.joined(separator: ",") + "]")))
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: ResponseBody { writer in
                func send(_ events: [TimelineEvent]) async throws {
                    for event in events where filter.accepts(event) {
                        try await writer.write(ByteBuffer(string: "event: \(event.kind.rawValue)\ndata: \(event.jsonLine())\n\n"))
                    }
                }
                try await send(recent)
                // Until the client goes: a comment every 15 s finds a closed connection.
                var quiet = 0
                while !Task.isCancelled {
                    let fresh = tail.read()
                    if fresh.isEmpty {
                        quiet += 1
                        if quiet >= 150 {
                            try await writer.write(ByteBuffer(string: ": still watching\n\n"))
                            quiet = 0
                        }
                    } else {
                        quiet = 0
                        try await send(fresh)
                    }
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
                try await writer.finish(nil)
            })
        }

        api.get("environments/:name/runs") { request, context in
            let (_, record) = try API.visible(request, context, state: state)
            let folder = TimelineStore(root: state.runsDirectory, environment: record.name).folder
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(isRunID).sorted(by: >)
            let runs = names.compactMap { name -> RunSummary? in
                guard let run = readRecord(folder + "/" + name) else { return nil }
                return RunSummary(id: run.id, started: run.started, ended: run.ended, endedBy: run.endedBy, sample: run.sample.name,
                                  deliveredTo: run.deliveredTo)
            }
            return json(runs)
        }

        api.post("environments/:name/runs") { request, context in
            let (principal, record) = try API.visible(request, context, state: state)
            let form = try await readForm(request, principal: principal, state: state)
            let job = try await start(form, record, principal: principal, state: state)
            return json(JobView(job), status: .accepted)
        }

        api.get("runs/:id") { request, context in
            let folder = try visibleRun(request, context, state: state)
            return try await file(folder + "/run.json", type: "application/json; charset=utf-8", request: request, context: context)
        }
        api.get("runs/:id/timeline") { request, context in
            let folder = try visibleRun(request, context, state: state)
            return try await file(folder + "/timeline.jsonl", type: "application/x-ndjson", request: request, context: context)
        }
        api.get("runs/:id/stix") { request, context in
            let folder = try visibleRun(request, context, state: state)
            return try await file(folder + "/stix.json", type: "application/json; charset=utf-8", request: request, context: context)
        }
    }

    /// A run's form, its CSRF token checked: from the header (or a token's caller, who needs none)
    /// before up to 65 MiB are read; a page's form carries its own, checked once read.
    static func readForm(_ request: Request, principal: Principal, state: ServerState) async throws -> MultipartForm {
        let early = principal.csrf == nil || request.headers[HTTPField.Name("X-CSRF-Token")!] != nil
        if early { try state.auth.checkCSRF(principal, request: request) }
        let form = try await MultipartForm.read(request, limit: InfectionRun.sampleLimit + (1 << 20))
        if !early { try state.auth.checkCSRF(principal, request: request, form: form.fields) }
        return form
    }

    /// A run from its form (the API's and the timeline page's): checked whole before anything is
    /// delivered, then carried out as a job of kind `run`.
    static func start(_ form: MultipartForm, _ record: EnvironmentRecord, principal: Principal, state: ServerState) async throws -> Job {
        guard FileManager.default.fileExists(atPath: TimelineStore(root: state.runsDirectory, environment: record.name).settings) else {
            throw ServerError(status: .unprocessableContent, message: "\(record.name) is not watched: apply it with an internet host or 'observe: true' first")
        }
        guard let sample = form.files["sample"], !(sample.name.isEmpty && sample.bytes.isEmpty) else {
            throw ServerError.badRequest("give the sample as the form's file field 'sample'")
        }
        guard sample.bytes.count <= InfectionRun.sampleLimit else {
            throw ServerError(status: .contentTooLarge, message: "the sample is \(sample.bytes.count) bytes, over the limit of 64 MiB")
        }
        let name = sample.name.filter { $0.isLetter || $0.isNumber || ".-_".contains($0) }
        guard !name.isEmpty, !name.hasPrefix(".") else { throw ServerError.badRequest("the sample's file name '\(sample.name)' has nothing usable") }
        // A page's form sends its empty fields too: an empty field is one not given.
        func field(_ key: String) -> String? {
            form.fields[key].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let to = field("to"), on = field("on")
        guard (to == nil) != (on == nil) else { throw ServerError.badRequest("give one of 'to' (a person) or 'on' (a host)") }
        let until = try field("until").map { text -> RunEnd in
            guard let end = RunEnd(text) else { throw ServerError.badRequest("'until' is c2, lateral or quiet:DURATION, not '\(text)'") }
            return end
        }
        let duration = try field("for").map { text -> TimeInterval in
            guard let seconds = RunEnd.seconds(text), seconds > 0, seconds <= 7 * 86400 else { throw ServerError.badRequest("'for' is a duration such as 30m, not '\(text)'") }
            return seconds
        } ?? 1800
        let then = field("then") ?? "keep"
        guard ["keep", "reset"].contains(then) else { throw ServerError.badRequest("'then' is keep or reset") }
        let open = ["true", "on", "yes", "1"].contains(field("open") ?? "false")
        if then == "reset", !open {
            throw ServerError.badRequest("'then: reset' resets the hosts the sample was opened on: give 'open: true' too (on the page: tick 'open it on their PC', or keep it running)")
        }
        // The sample waits in the server's own folder until the run has copied it.
        let staging = state.dataDirectory + "/samples/" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try sample.bytes.write(to: URL(fileURLWithPath: staging + "/" + name))
        let runRequest = InfectionRun.Request(environment: record.name, sample: staging + "/" + name, to: to, on: on, subject: field("subject"),
                                              open: open, until: until, duration: duration, thenReset: then == "reset")
        let operations = state.operations
        let runs = state.runsDirectory
        // Not queued behind the environment's jobs, nor holding them up: a run may watch for
        // days, and its own reset takes the environment's lock when it comes.
        return try await state.jobs.submit(kind: "run", environment: record.name, targets: [], userID: principal.user.id) { cancellation, events in
            defer { try? FileManager.default.removeItem(atPath: staging) }
            do {
                let run = try await operations.run(runRequest, runs: runs, cancellation: cancellation) { progress in
                    switch progress {
                    case let .info(line): events(OperationEvent(.info, line, environment: runRequest.environment))
                    case let .milestone(milestone): events(OperationEvent(.info, "milestone \(milestone.name)" + (milestone.event.map { ": " + $0.summary } ?? ""),
                                                                             environment: runRequest.environment))
                    case .event: break
                    }
                }
                events(OperationEvent(.info, "run \(run.id) ended by \(run.endedBy)", environment: runRequest.environment))
                return (JSON.string(run), run.endedBy != "interrupted")
            } catch let failure as InfectionRun.Failure {
                events(OperationEvent(.error, failure.description, environment: runRequest.environment))
                throw failure
            }
        }
    }

    struct RunSummary: Codable {
        var id: String
        var started: String
        var ended: String
        var endedBy: String
        var sample: String
        var deliveredTo: String

        enum CodingKeys: String, CodingKey {
            case id, started, ended, endedBy = "ended_by", sample, deliveredTo = "delivered_to"
        }
    }

    static func readRecord(_ folder: String) -> InfectionRun.Record? {
        FileManager.default.contents(atPath: folder + "/run.json").flatMap { try? JSONDecoder().decode(InfectionRun.Record.self, from: $0) }
    }

    /// The run's folder, when the caller may see its environment (a run of an environment the
    /// caller may not see is as absent as one that never was).
    static func visibleRun(_ request: Request, _ context: BasicRequestContext, state: ServerState) throws -> String {
        let principal = try state.auth.require(request)
        let id = try context.parameters.require("id")
        guard isRunID(id) else { throw ServerError.notFound("run \(id)") }
        let environments = (try? FileManager.default.contentsOfDirectory(atPath: state.runsDirectory)) ?? []
        for environment in environments.sorted() where FileManager.default.fileExists(atPath: state.runsDirectory + "/" + environment + "/" + id + "/run.json") {
            let record = try state.store.environment(environment)
            guard principal.mayManage || (record.map(principal.maySee) ?? false) else { break }
            return state.runsDirectory + "/" + environment + "/" + id
        }
        throw ServerError.notFound("run \(id)")
    }

    /// A run's file, streamed (a timeline grows with the run).
    static func file(_ path: String, type: String, request: Request, context: BasicRequestContext) async throws -> Response {
        try await Downloads.response(path, type: type, request: request, context: context)
    }

    /// `kind` and `host`, each repeatable or comma-separated.
    static func filter(_ request: Request) throws -> TimelineFilter {
        let parameters = request.uri.queryParameters
        let kinds = try parameters.getAll("kind").flatMap { $0.split(separator: ",") }.map { text -> TimelineEvent.Kind in
            guard let kind = TimelineEvent.Kind(rawValue: String(text)) else {
                throw ServerError.badRequest("'\(text)' is not a kind of event: \(TimelineEvent.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return kind
        }
        let hosts = parameters.getAll("host").flatMap { $0.split(separator: ",") }.map(String.init)
        return TimelineFilter(kinds: Set(kinds), hosts: Set(hosts))
    }
}

/// A `multipart/form-data` body (RFC 7578): its text fields and its files, read whole within a limit.
struct MultipartForm {
    struct File {
        var name: String
        var bytes: Data
    }

    var fields: [String: String] = [:]
    var files: [String: File] = [:]

    static func read(_ request: Request, limit: Int) async throws -> MultipartForm {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data"),
              let boundary = type.components(separatedBy: "boundary=").last?.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")), !boundary.isEmpty
        else { throw ServerError.badRequest("send the sample as multipart/form-data") }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw ServerError(status: .contentTooLarge, message: "the form is over \(limit) bytes (the sample may be 64 MiB at most)")
        }
        return try parse(Data(buffer.readableBytesView), boundary: boundary)
    }

    static func parse(_ body: Data, boundary: String) throws -> MultipartForm {
        let delimiter = Data(("--" + boundary).utf8)
        let lineBreak = Data("\r\n".utf8)
        var form = MultipartForm()
        var starts: [Int] = []
        var index = body.startIndex
        while index < body.endIndex, let found = body.range(of: delimiter, in: index ..< body.endIndex) {
            starts.append(found.lowerBound)
            index = found.upperBound
        }
        guard starts.count >= 2 else { throw ServerError.badRequest("the form has no parts") }
        for (start, end) in zip(starts, starts.dropFirst()) {
            var part = body[(start + delimiter.count) ..< end]
            if part.starts(with: lineBreak) { part = part.dropFirst(2) }
            if part.count >= 2, part.suffix(2) == lineBreak { part = part.dropLast(2) }
            guard let split = part.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let headers = String(decoding: part[..<split.lowerBound], as: UTF8.self)
            let content = part[split.upperBound...]
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }) else { continue }
            func parameter(_ key: String) -> String? {
                // `; name="..."`: the whole parameter, not the tail of `filename="..."`.
                for piece in disposition.split(separator: ";").dropFirst() {
                    let parts = piece.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == key else { continue }
                    return parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
                return nil
            }
            guard let name = parameter("name") else { continue }
            if let filename = parameter("filename") {
                form.files[name] = File(name: URL(fileURLWithPath: filename).lastPathComponent, bytes: Data(content))
            } else {
                form.fields[name] = String(decoding: content, as: UTF8.self)
            }
        }
        return form
    }
}
