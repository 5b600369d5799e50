import Compiler
import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Naming
import Topology

/// The REST API under `/api/v1`, as `OpenAPIDocument` describes it.
enum API {
    static func add(to router: Router<BasicRequestContext>, state: ServerState) {
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            await state.metrics.observe(environments: (try? state.store.environments().count) ?? 0, hosts: state.catalog.hostCounts())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: state.metrics.text())))
        }
        router.get("/api/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }

        let api = router.group("/api/v1")
        api.get("me") { request, _ in json(UserView(try state.auth.require(request).user)) }
        api.get("users") { request, _ in
            let principal = try state.auth.require(request)
            guard principal.role == .admin else { throw ServerError.forbidden("only an admin lists users") }
            return json(try state.store.users().map(UserView.init))
        }
        api.post("users") { request, _ in
            let principal = try state.auth.require(request)
            try state.auth.checkCSRF(principal, request: request)
            guard principal.role == .admin else { throw ServerError.forbidden("only an admin makes users") }
            let body = try await decode(NewUser.self, request)
            return json(try makeUser(body, state: state), status: .created)
        }
        api.post("validate") { request, _ in
            let principal = try state.auth.require(request)
            if let wait = state.limits.validations.take("validate/\(principal.id)") {
                throw ServerError(status: .tooManyRequests, message: "too many validations: try again in \(Int(wait.rounded(.up))) s",
                                  retryAfter: Int(wait.rounded(.up)))
            }
            let source = try await text(request)
            let (environment, diagnostics) = try await state.catalog.validateAside(source, user: principal.id)
            return json(Validation(valid: environment != nil, environment: environment?.name, diagnostics: diagnostics))
        }

        api.get("environments") { request, _ in
            let principal = try state.auth.require(request)
            return json(try await environmentList(principal, state: state))
        }
        api.post("environments") { request, _ in
            let principal = try state.auth.require(request)
            try state.auth.checkCSRF(principal, request: request)
            let (record, created) = try await createEnvironment(try await text(request), principal: principal, state: state)
            return json(try await summary(record, state: state), status: created ? .created : .ok)
        }
        api.get("environments/:name") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            return json(try await detail(record, state: state, principal: principal))
        }
        api.delete("environments/:name") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor removes environments") }
            try await forget(record, state: state)
            return Response(status: .noContent)
        }
        api.get("environments/:name/topology") { request, context in
            let (_, record) = try visible(request, context, state: state)
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: record.source)))
        }
        api.get("environments/:name/status") { request, context in
            let (_, record) = try visible(request, context, state: state)
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: await state.catalog.statusAnswer(record))))
        }
        for kind in JobKind.allCases {
            api.post("environments/:name/\(kind.rawValue)") { request, context in
                let (principal, record) = try visible(request, context, state: state)
                try state.auth.checkCSRF(principal, request: request)
                let options = kind == .reset || kind == .snapshot || kind == .apply ? try await decode(ResetRequest.self, request, empty: ResetRequest()) : ResetRequest()
                let job = try await submit(kind, record, options: options, principal: principal, state: state)
                return json(JobView(job), status: .accepted)
            }
        }
        api.post("environments/:name/copies") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            let body = try await decode(CopiesRequest.self, request)
            return json(try await makeCopies(record, body, principal: principal, state: state, base: baseURL(request)), status: .created)
        }
        // A copy's student link: a new one (the old ones and the student's sessions end), or none.
        api.post("environments/:name/link") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            let (student, _) = try copyStudent(record, principal: principal, state: state)
            return json(try newLink(record, student: student, state: state, base: baseURL(request), endingSessions: true), status: .created)
        }
        api.delete("environments/:name/link") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            let (student, _) = try copyStudent(record, principal: principal, state: state)
            try state.store.revokeLinks(userID: student.id!, environment: record.name, endingSessions: true)
            return Response(status: .noContent)
        }
        api.get("environments/:name/evidence") { request, context in
            let (_, record) = try visible(request, context, state: state)
            return json(EvidenceStore.folders(in: state.evidenceDirectory, environment: record.name).reversed()
                .map { EvidenceSummary(name: $0.name, created: $0.created, bytes: $0.bytes) })
        }
        api.get("environments/:name/quota") { request, context in
            let (_, record) = try visible(request, context, state: state)
            return json(try EvidenceQuota.usage(record, state: state))
        }
        api.delete("environments/:name/evidence/:folder") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            try state.auth.checkCSRF(principal, request: request)
            guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor removes evidence") }
            let folder = try evidenceFolder(record, context, state: state)
            try EvidenceStore.remove(folder)
            state.logger.notice("evidence \(URL(fileURLWithPath: folder).lastPathComponent) removed by \(principal.user.name)")
            return Response(status: .noContent)
        }
        api.get("environments/:name/evidence/:folder") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            let folder = try evidenceFolder(record, context, state: state)
            let slot = try state.heavy.enter(principal.user.name)
            defer { slot.release() }
            let (manifest, files) = try await state.verify(folder)
            return json(EvidenceDetail(name: URL(fileURLWithPath: folder).lastPathComponent, manifest: manifest, files: files))
        }
        api.get("environments/:name/evidence/:folder/file") { request, context in
            let (principal, record) = try visible(request, context, state: state)
            let folder = try evidenceFolder(record, context, state: state)
            guard let path = request.uri.queryParameters.get("path") else { throw ServerError.badRequest("give the file as ?path=HOST/FILE") }
            let listed = try EvidenceFolder.listedPaths(folder) + ["manifest.json", "SHA256SUMS"]
            // Only the files the folder lists: no path of the caller's choosing reaches the disk.
            guard listed.contains(path), !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw ServerError.notFound("file \(path) in this evidence folder")
            }
            // Streamed from disk, with ranges; a user has a few downloads under way at most.
            return try await Downloads.response(folder + "/" + path, type: "application/octet-stream", attachment: URL(fileURLWithPath: path).lastPathComponent,
                                                request: request, context: context, slot: try state.heavy.enter(principal.user.name))
        }

        RunsAPI.add(to: api, state: state)
        ForensicsAPI.add(to: api, state: state)

        api.get("jobs") { request, _ in
            let principal = try state.auth.require(request)
            let jobs = try state.store.jobs().filter { job in try mayWatch(job, principal, state: state) }
            return json(jobs.map(JobView.init))
        }
        api.get("jobs/:id") { request, context in
            let (_, job) = try visibleJob(request, context, state: state)
            return json(JobView(job))
        }
        api.get("jobs/:id/events") { request, context in
            let (_, job) = try visibleJob(request, context, state: state)
            let after = request.uri.queryParameters.get("after").flatMap(Int.init) ?? request.headers[HTTPField.Name("Last-Event-ID")!].flatMap(Int.init) ?? -1
            guard request.headers[.accept]?.contains("text/event-stream") ?? false else {
                return json(try state.store.events(job: job.id, after: after).compactMap(EventView.init))
            }
            let stream = try await state.jobs.watch(job.id, after: after)
            let store = state.store
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: ResponseBody { writer in
                for await record in stream {
                    guard let view = EventView(record) else { continue }
                    try await writer.write(ByteBuffer(string: "id: \(record.sequence)\nevent: \(view.event.kind.rawValue)\ndata: \(JSON.string(view))\n\n"))
                }
                let finished = (try? store.job(job.id)).flatMap { $0 } ?? job
                try await writer.write(ByteBuffer(string: "event: end\ndata: \(JSON.string(JobView(finished)))\n\n"))
                try await writer.finish(nil)
            })
        }
    }

    // MARK: - Requests

    struct NewUser: Codable {
        var name: String
        var role: Role
        var password: String?
    }

    struct NewUserAnswer: Codable {
        var user: UserView
        /// Shown once: only its hash is kept.
        var token: String
    }

    struct Validation: Codable {
        var valid: Bool
        var environment: String?
        var diagnostics: [DiagnosticView]
    }

    enum JobKind: String, CaseIterable {
        case apply, destroy, reset, test, snapshot
    }

    struct ResetRequest: Codable {
        var hosts: [String]? = nil
        var evidence: Bool? = nil
        var memory: Bool? = nil
        /// Boot every host instead of restoring its clean state (reset) or its image's warm template (apply).
        var cold: Bool? = nil
    }

    struct CopiesRequest: Codable {
        var count: Int
        /// Names of the students, one per copy; `ENV-iK-student` when omitted.
        var students: [String]?
    }

    struct CopyAnswer: Codable {
        var environment: String
        var student: String
        /// Opens the student's copy, signed in as them: once, within a week.
        var link: String
        /// The link's token (not an API token).
        var token: String
        var expiresAt: Date
    }

    struct CopiesAnswer: Codable {
        var copies: [CopyAnswer]
        var job: JobView
    }

    struct EvidenceSummary: Codable {
        var name: String
        var created: Date
        /// What its files take on disk.
        var bytes: UInt64
    }

    struct EvidenceDetail: Codable {
        var name: String
        var manifest: EvidenceManifest
        var files: [EvidenceCheck]
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, empty: T? = nil) async throws -> T {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        if buffer.readableBytes == 0, let empty { return empty }
        do {
            return try JSON.decode(type, from: Array(buffer: buffer))
        } catch {
            throw ServerError.badRequest("the body is not the JSON this call takes: \(error)")
        }
    }

    /// A topology's text: the body as sent (YAML), or a form's `topology` field.
    static func text(_ request: Request) async throws -> String {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Catalog.sizeLimit)
        } catch {
            throw ServerError(status: .contentTooLarge, message: "a topology may be at most \(Catalog.sizeLimit / 1024) KiB")
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else { throw ServerError.badRequest("the topology is not UTF-8 text") }
        return text
    }

    /// The server as the browser reaches it: `https` behind a proxy that ends TLS and says so.
    static func baseURL(_ request: Request) -> String {
        (Pages.secure(request) ? "https://" : "http://") + (request.head.authority ?? "127.0.0.1")
    }

    // MARK: - Access

    /// The environment named in the path, if the caller may see it; 404 otherwise (a student learns
    /// nothing of copies that are not theirs, not even that they exist).
    static func visible(_ request: Request, _ context: BasicRequestContext, state: ServerState) throws -> (Principal, EnvironmentRecord) {
        let principal = try state.auth.require(request)
        return (principal, try visible(to: principal, context, state: state))
    }

    /// The environment named in the path, as `principal` may see it (pages and API alike).
    static func visible(to principal: Principal, _ context: BasicRequestContext, state: ServerState) throws -> EnvironmentRecord {
        let name = try context.parameters.require("name")
        guard let record = try state.store.environment(name), principal.maySee(record) else { throw ServerError.notFound("environment \(name)") }
        return record
    }

    static func visibleJob(_ request: Request, _ context: BasicRequestContext, state: ServerState) throws -> (Principal, Job) {
        let principal = try state.auth.require(request)
        let id = try context.parameters.require("id")
        guard let job = try state.store.job(id), try mayWatch(job, principal, state: state) else { throw ServerError.notFound("job \(id)") }
        return (principal, job)
    }

    /// A job an admin or instructor may watch, and a student one of their copy since it was given
    /// to them (a copy given to another student before keeps its history to itself).
    static func mayWatch(_ job: Job, _ principal: Principal, state: ServerState) throws -> Bool {
        if principal.mayManage { return true }
        guard let record = try state.store.environment(job.environment) else { return false }
        return principal.maySee(record) && job.createdAt >= record.createdAt
    }

    static func evidenceFolder(_ record: EnvironmentRecord, _ context: BasicRequestContext, state: ServerState) throws -> String {
        let name = try context.parameters.require("folder")
        guard EvidenceStore.parse(name)?.environment == record.name, EvidenceFolder.list(in: state.evidenceDirectory, environment: record.name).contains(name) else {
            throw ServerError.notFound("evidence folder \(name)")
        }
        return state.evidenceDirectory + "/" + name
    }

    // MARK: - Operations

    static func makeUser(_ body: NewUser, state: ServerState) throws -> NewUserAnswer {
        guard Language.isValidName(body.name, limit: 40) else { throw ServerError.badRequest("a user name is lowercase letters, digits and '-', at most 40") }
        guard try state.store.user(named: body.name) == nil else { throw ServerError(status: .conflict, message: "there is a user \(body.name) already") }
        if let password = body.password, password.count < 8 { throw ServerError.badRequest("a password has at least 8 characters") }
        let user = try state.store.insert(User(name: body.name, role: body.role, passwordHash: body.password.map(Secrets.hashPassword) ?? "", createdAt: Date()))
        let token = Secrets.make()
        try state.store.addToken(token, userID: user.id!)
        return NewUserAnswer(user: UserView(user), token: token)
    }

    static func environmentList(_ principal: Principal, state: ServerState) async throws -> [EnvironmentView] {
        var views: [EnvironmentView] = []
        for record in try state.store.environments() where principal.maySee(record) {
            views.append(try await summary(record, state: state))
        }
        return views
    }

    static func summary(_ record: EnvironmentRecord, state: ServerState) async throws -> EnvironmentView {
        let resolved = await state.catalog.resolved(record)
        let status = await state.catalog.status(record.name)
        return try summary(record, state: state, resolved: resolved, status: status, hosts: ViewBuilder.hosts(resolved, status: status?.reports))
    }

    /// The summary of what the caller has already read and built.
    static func summary(_ record: EnvironmentRecord, state: ServerState, resolved: ResolvedEnvironment?,
                        status: (reports: [Operations.StatusReport], at: Date)?, hosts: [HostView]) throws -> EnvironmentView {
        let student = try record.studentID.flatMap { try state.store.user(id: $0)?.name }
        let copies = record.copyOf == nil ? try state.store.copies(of: record.name).map(\.name) : []
        return ViewBuilder.summary(record, description: resolved?.description, status: status, hosts: hosts, student: student, copies: copies)
    }

    static func detail(_ record: EnvironmentRecord, state: ServerState, principal: Principal) async throws -> EnvironmentDetail {
        let resolved = await state.catalog.resolved(record)
        let status = await state.catalog.status(record.name)
        let active = Set(status?.reports.flatMap(\.status.networks).filter(\.active).map(\.name) ?? [])
        let networks = (resolved?.networks ?? []).map {
            NetworkView(name: $0.name, cidr: $0.cidr.description, gateway: $0.gateway, active: active.contains($0.libvirtName))
        }
        // Jobs of this environment the viewer may watch: a student's copy is one target of the job
        // that built every copy, whose outcome shows the others' hosts.
        let jobs = try state.store.jobs(limit: 500).filter { $0.targets.split(separator: " ").contains(Substring(record.name)) }
            .filter { principal.mayManage || ($0.environment == record.name && $0.createdAt >= record.createdAt) }.prefix(10)
        let hosts = ViewBuilder.hosts(resolved, status: status?.reports)
        return EnvironmentDetail(environment: try summary(record, state: state, resolved: resolved, status: status, hosts: hosts), networks: networks,
                                 hostList: hosts,
                                 checks: (resolved?.checks ?? []).map { CheckView(label: $0.label) }, jobs: jobs.map(JobView.init))
    }

    /// Stores a topology that validates (as a deploy would, images confined to the store), under
    /// the name it gives; an existing environment of that name gets the new version.
    static func createEnvironment(_ source: String, principal: Principal, state: ServerState) async throws -> (EnvironmentRecord, Bool) {
        guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor adds environments") }
        let (environment, diagnostics) = try await state.catalog.validateAside(source, user: principal.id)
        guard let environment else {
            throw ServerError(status: .unprocessableContent, message: "the topology has errors", details: diagnostics)
        }
        let existing = try state.store.environment(environment.name)
        if let existing, existing.copyOf != nil {
            throw ServerError(status: .conflict, message: "\(environment.name) is a copy of \(existing.copyOf!); name the topology otherwise")
        }
        let record = EnvironmentRecord(name: environment.name, source: source, copyOf: nil, studentID: nil, createdBy: principal.user.id,
                                       createdAt: existing?.createdAt ?? Date(), updatedAt: Date())
        try state.store.save(record)
        // Copies follow their original's topology.
        for var copy in try state.store.copies(of: record.name) {
            copy.source = source
            copy.updatedAt = Date()
            try state.store.save(copy)
        }
        return (record, existing == nil)
    }

    static func forget(_ record: EnvironmentRecord, state: ServerState) async throws {
        let names = [record.name] + (try state.store.copies(of: record.name).map(\.name))
        for name in names {
            let status = try await state.operations.status([name])
            if status.contains(where: { !$0.status.domains.isEmpty || !$0.status.networks.isEmpty || $0.status.pool != nil }) {
                throw ServerError(status: .conflict, message: "\(name) is still deployed: destroy it first")
            }
        }
        try state.store.removeEnvironments(names)
        await state.catalog.forget(names)
    }

    /// Queues a job of `kind` on `record` (or on `targets`); an apply first destroys the copies
    /// `rebuilding` names and then gives each to its student (by id), so they come up from nothing.
    static func submit(_ kind: JobKind, _ record: EnvironmentRecord, options: ResetRequest, principal: Principal, state: ServerState,
                       targets explicit: [EnvironmentRecord]? = nil, rebuilding: [String: Int64] = [:]) async throws -> Job {
        if principal.role == .student, kind == .destroy { throw ServerError.forbidden("a student cannot destroy their copy; reset it instead") }
        let records = explicit ?? [record]
        var environments: [ResolvedEnvironment] = []
        for target in records {
            guard let resolved = await state.catalog.resolved(target) else {
                throw ServerError(status: .unprocessableContent, message: "the topology of \(target.name) no longer validates; upload it again")
            }
            environments.append(resolved)
        }
        let operations = state.operations
        if kind == .snapshot {
            guard let hosts = options.hosts, !hosts.isEmpty else { throw ServerError.badRequest("name the hosts to snapshot: {\"hosts\": [\"ws-01\"]}") }
            let known = Set(environments.flatMap { $0.hosts.map(\.name) })
            if let unknown = hosts.first(where: { !known.contains($0) }) { throw ServerError.notFound("host \(unknown) in \(record.name)") }
        }
        let names = records.map(\.name)
        let resolved = environments
        let evidence = options.evidence ?? false ? state.evidenceDirectory : nil
        // What the job would keep, asked of the quotas now (and let go) and again as the job starts.
        let keeping: EvidenceQuota.Keeping? = kind == .snapshot ? .snapshot : kind == .reset && evidence != nil ? .reset(memory: options.memory ?? false) : nil
        if let keeping { try await EvidenceQuota.admit(record, hosts: options.hosts ?? [], keeping: keeping, state: state)?.end() }
        if evidence != nil { try FileManager.default.createDirectory(atPath: state.evidenceDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        return try await state.jobs.submit(kind: kind.rawValue, environment: record.name, targets: names, userID: principal.user.id) { cancellation, events in
            var operations = operations
            operations.waiting = { name in events(OperationEvent(.info, "waiting for another decoynet command on environment \(name) to finish", environment: name)) }
            /// Asked again as the job starts, and held until it ends: other resets and snapshots
            /// may have kept evidence while this one waited, or be writing theirs now.
            func admitted(_ keeping: EvidenceQuota.Keeping?) async throws -> EvidenceLedger.Reservation? {
                guard let keeping else { return nil }
                do {
                    return try await EvidenceQuota.admit(record, hosts: options.hosts ?? [], keeping: keeping, state: state)
                } catch let refusal as ServerError {
                    events(OperationEvent(.error, refusal.message, environment: record.name))
                    throw refusal
                }
            }
            do {
                switch kind {
                case .apply:
                    if !rebuilding.isEmpty {
                        let names = rebuilding.keys.sorted()
                        events(OperationEvent(.info, "given to a new student: \(names.joined(separator: ", ")) destroyed and built again, with what they kept retired"))
                        let destroyed = try await operations.destroy(names, cancellation: cancellation, events: events)
                        guard destroyed.succeeded else { return (JSON.string(destroyed), false) }
                        for name in names {
                            guard var copy = try state.store.environment(name) else { continue }
                            copy.studentID = rebuilding[name]
                            try state.store.save(copy)
                        }
                    }
                    var applyOptions = Operations.ApplyOptions(acceleration: Acceleration.detect(uri: operations.hypervisor.uri))
                    applyOptions.warmTemplates = !(options.cold ?? false)
                    let prepared = try await operations.prepareApply(resolved, options: applyOptions)
                    let report = try await operations.apply(prepared, options: applyOptions, cancellation: cancellation, events: events)
                    return (JSON.string(report), report.succeeded)
                case .destroy:
                    let report = try await operations.destroy(names, cancellation: cancellation, events: events)
                    return (JSON.string(report), report.succeeded)
                case .reset:
                    let reservation = try await admitted(keeping)
                    defer { reservation?.end() }
                    let resetOptions = Resetter.Options(hosts: options.hosts ?? [], evidenceDirectory: evidence, memory: options.memory ?? false,
                                                       cold: options.cold ?? false)
                    let report = try await operations.reset(record.name, options: resetOptions, cancellation: cancellation, events: events)
                    return (JSON.string(report), report.succeeded)
                case .snapshot:
                    let reservation = try await admitted(keeping)
                    defer { reservation?.end() }
                    let hosts = options.hosts ?? []
                    try FileManager.default.createDirectory(atPath: state.snapshotsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    let converter = state.forensics.tools.map { $0.scripts + "/memory.py" }
                    let taken = try await operations.snapshot(record.name, hosts: hosts, directory: state.snapshotsDirectory,
                                                              method: converter == nil ? .pause : .live, converter: converter,
                                                              cancellation: cancellation, events: events)
                    return (JSON.string(taken.map { ForensicsAPI.SnapshotSummary(name: URL(fileURLWithPath: $0.folder).lastPathComponent, record: $0.record) }), true)
                case .test:
                    events(OperationEvent(.info, "running operation tests of \(record.name)", environment: record.name))
                    let results = try await operations.test(record.name, wait: true)
                    for result in results {
                        events(OperationEvent(result.passed ? .stepDone : .stepFailed, "\(result.kind) \(result.host) \(result.test)\(result.passed ? "" : ": \(result.detail)")",
                                              environment: record.name))
                    }
                    return (JSON.string(results), !results.isEmpty && results.allSatisfy(\.passed))
                }
            } catch let failure as OperationFailure {
                for problem in failure.problems { events(OperationEvent(.error, problem)) }
                if let hint = failure.hint { events(OperationEvent(.info, hint)) }
                throw failure
            }
        }
    }

    /// A new link for a copy's student: their earlier links to it end, and with `endingSessions`
    /// their sessions (an instructor's new link for a student who lost theirs, or whose was taken).
    static func newLink(_ copy: EnvironmentRecord, student: User, state: ServerState, base: String, endingSessions: Bool) throws -> CopyAnswer {
        try state.store.revokeLinks(userID: student.id!, environment: copy.name, endingSessions: endingSessions)
        let token = Secrets.make()
        let expires = Date().addingTimeInterval(Authenticator.linkSeconds)
        try state.store.addToken(token, userID: student.id!, kind: .link, expiresAt: expires, environment: copy.name)
        return CopyAnswer(environment: copy.name, student: student.name, link: "\(base)/s/\(token)", token: token, expiresAt: expires)
    }

    /// The student a copy was given to, for an admin or instructor.
    static func copyStudent(_ record: EnvironmentRecord, principal: Principal, state: ServerState) throws -> (User, EnvironmentRecord) {
        guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor gives links") }
        guard let id = record.studentID, let student = try state.store.user(id: id) else {
            throw ServerError.badRequest("\(record.name) is not a student's copy (or is being given to one: wait for its job)")
        }
        return (student, record)
    }

    /// Copies `ENV-i1` ... `ENV-iN` of an environment, each given to a student (made now, with a
    /// token that the link carries), and one job applying them all.
    static func makeCopies(_ record: EnvironmentRecord, _ body: CopiesRequest, principal: Principal, state: ServerState, base: String) async throws -> CopiesAnswer {
        guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor makes copies") }
        guard record.copyOf == nil else { throw ServerError.badRequest("\(record.name) is a copy: make copies of \(record.copyOf!)") }
        guard (1 ... 200).contains(body.count) else { throw ServerError.badRequest("count must be 1 to 200") }
        if let students = body.students, students.count != body.count { throw ServerError.badRequest("give one student name per copy, or none") }
        if let students = body.students, Set(students).count != students.count { throw ServerError.badRequest("give each student once") }
        var answers: [CopyAnswer] = []
        var records: [EnvironmentRecord] = []
        var rebuilt: [String: Int64] = [:]
        for number in 1 ... body.count {
            let name = "\(record.name)-i\(number)"
            let studentName = body.students?[number - 1] ?? "\(name)-student"
            let student: User
            if let existing = try state.store.user(named: studentName) {
                guard existing.role == .student else { throw ServerError(status: .conflict, message: "\(studentName) is not a student") }
                student = existing
            } else {
                guard Language.isValidName(studentName, limit: 40) else { throw ServerError.badRequest("'\(studentName)' is not a user name (lowercase letters, digits, '-')") }
                student = try state.store.insert(User(name: studentName, role: .student, passwordHash: "", createdAt: Date()))
            }
            // A copy that was another student's is given over clean: nobody's until the job has
            // destroyed it (the new student's link opens it after that), what it kept retired now,
            // its jobs before now not shown to the new student. A job that fails leaves it nobody's,
            // and the next copies for the new student try again.
            let existing = try state.store.environment(name)
            let handedOver = existing.map { $0.studentID != student.id } ?? false
            if handedOver, let previous = existing?.studentID {
                try state.store.revokeLinks(userID: previous, environment: name, endingSessions: false)
            }
            if handedOver { Handover.retire(name, state: state) }
            var copy = EnvironmentRecord(name: name, source: record.source, copyOf: record.name, studentID: handedOver ? nil : student.id,
                                         createdBy: principal.user.id, createdAt: handedOver ? Date() : existing?.createdAt ?? Date(), updatedAt: Date())
            try state.store.save(copy)
            records.append(copy)
            if handedOver { rebuilt[name] = student.id! }
            copy.studentID = student.id
            answers.append(try newLink(copy, student: student, state: state, base: base, endingSessions: false))
        }
        let job = try await submit(.apply, record, options: ResetRequest(), principal: principal, state: state, targets: records, rebuilding: rebuilt)
        return CopiesAnswer(copies: answers, job: JobView(job))
    }
}
