import Compiler
import Engine
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import Observe

/// The server-rendered pages: the same calls as the API, with sessions, forms and CSRF tokens.
enum Pages {
    static func add(to router: Router<BasicRequestContext>, state: ServerState) {
        Assets.add(to: router)
        router.get("/") { request, _ in
            try state.auth.principal(request) == nil ? redirect("/login") : redirect("/environments")
        }
        router.get("/login") { request, _ in signInPage(request, [:]) }
        router.post("/login") { request, _ in
            let form = try await Form.read(request)
            let name = form["name"] ?? ""
            // The form's token and the cookie the form came with: a form posted from another site has neither.
            guard let sent = form["token"], !sent.isEmpty, let expected = request.cookies[Authenticator.signInCookie]?.value,
                  Secrets.equal(sent, expected) else {
                return signInPage(request, ["problem": "The sign-in form was old or came from elsewhere: sign in again here.", "name": name], status: .forbidden)
            }
            // Taken before the password is checked (and given back when it was right), so that
            // guesses sent at once count as many.
            let key = "sign-in/" + name.lowercased()
            if let wait = state.limits.wrongPasswords.take(key) {
                var response = signInPage(request, ["problem": "Too many wrong passwords for this user: try again in \(Int(wait.rounded(.up))) s.", "name": name],
                                          status: .tooManyRequests)
                response.headers[.retryAfter] = String(Int(wait.rounded(.up)))
                return response
            }
            guard let user = try state.auth.signIn(name: name, password: form["password"] ?? "") else {
                return signInPage(request, ["problem": "Wrong user or password.", "name": name], status: .unauthorized)
            }
            state.limits.wrongPasswords.refund(key)
            return try signedIn(user, state: state, to: "/environments", request: request)
        }
        // A student's link: a page that says what it opens, and its button signs them in, once; then
        // the link is used up. Only the button takes it, so a mail scanner or a chat's preview that
        // fetches the link does not spend it.
        router.get("/s/:token") { _, context in
            let token = try context.parameters.require("token")
            guard try state.store.linkIsValid(token) else { return linkNotValid() }
            return page("Your copy", "link", ["token": token], principal: nil)
        }
        router.post("/s/:token") { request, context in
            let token = try context.parameters.require("token")
            guard let taken = try state.store.takeLink(token) else { return linkNotValid() }
            let (user, environment) = taken
            let copy = try state.store.environments().first { $0.studentID == user.id && (environment == nil || $0.name == environment) }
            return try signedIn(user, state: state, to: copy.map { "/environments/\($0.name)" } ?? "/environments", request: request)
        }
        router.post("/logout") { request, _ in
            let principal = try state.auth.require(request)
            try state.auth.checkCSRF(principal, request: request, form: try await Form.read(request))
            if let cookie = request.cookies[Authenticator.sessionCookie]?.value { try state.store.removeSession(cookie) }
            var response = redirect("/login")
            response.setCookie(Cookie(name: Authenticator.sessionCookie, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
            return response
        }

        router.get("/environments") { request, _ in
            let principal = try signedInOrRedirect(request, state: state)
            return try await environmentsPage(principal, state: state)
        }
        router.post("/environments") { request, _ in
            let principal = try signedInOrRedirect(request, state: state)
            let form = try await Form.read(request, limit: Catalog.sizeLimit * 4)
            try state.auth.checkCSRF(principal, request: request, form: form)
            // Browsers send a textarea's lines with CRLF.
            let source = (form["topology"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            do {
                let (record, _) = try await API.createEnvironment(source, principal: principal, state: state)
                return redirect("/environments/\(record.name)")
            } catch let error as ServerError where error.details != nil {
                return try await environmentsPage(principal, state: state, source: source, diagnostics: error.details ?? [], status: .unprocessableContent)
            }
        }
        router.get("/environments/:name") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let detail = try await API.detail(record, state: state, principal: principal)
            let job = try watchable(request, record, principal, state: state)
                ?? detail.jobs.first { $0.state == .running || $0.state == .queued }.flatMap { try? state.store.job($0.id) }
            return page(record.name, "environment", environmentContext(detail, job: job, principal: principal), principal: principal)
        }
        for kind in API.JobKind.allCases {
            router.post("/environments/:name/\(kind.rawValue)") { request, context in
                let principal = try signedInOrRedirect(request, state: state)
                let record = try API.visible(to: principal, context, state: state)
                let form = try await Form.read(request)
                try state.auth.checkCSRF(principal, request: request, form: form)
                let options = API.ResetRequest(hosts: form["host"].map { [$0] }, evidence: form["evidence"] == "on")
                let job = try await API.submit(kind, record, options: options, principal: principal, state: state)
                if kind == .snapshot, let host = form["host"] { return redirect("/environments/\(record.name)/hosts/\(host)?job=\(job.id)") }
                return redirect("/environments/\(record.name)?job=\(job.id)")
            }
        }
        router.get("/environments/:name/classroom") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor makes copies") }
            return page("Classroom", "classroom", try await classroomContext(record, links: nil, state: state, principal: principal), principal: principal)
        }
        router.post("/environments/:name/classroom") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let form = try await Form.read(request)
            try state.auth.checkCSRF(principal, request: request, form: form)
            let students = (form["students"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let body = API.CopiesRequest(count: Int(form["count"] ?? "") ?? 0, students: students.isEmpty ? nil : students)
            let answer = try await API.makeCopies(record, body, principal: principal, state: state, base: API.baseURL(request))
            return page("Classroom", "classroom", try await classroomContext(record, links: answer, state: state, principal: principal), principal: principal)
        }
        router.get("/environments/:name/evidence") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let folders = EvidenceStore.folders(in: state.evidenceDirectory, environment: record.name).reversed()
                .map { ["name": $0.name, "environment": record.name, "size": ByteCount.text($0.bytes)] }
            let snapshots = ForensicsAPI.snapshots(of: record.name, state: state)
                .map { ["name": $0.name, "host": $0.host, "environment": record.name, "taken": time($0.taken), "size": ByteCount.text($0.bytes ?? 0)] }
            let usage = try EvidenceQuota.usage(record, state: state)
            return page("Evidence", "evidence", ["name": record.name, "folders": Array(folders), "snapshots": snapshots, "hasSnapshots": !snapshots.isEmpty, "quota": usage.lines], principal: principal)
        }
        router.post("/environments/:name/snapshots/:folder/remove") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let form = try await Form.read(request)
            try state.auth.checkCSRF(principal, request: request, form: form)
            try ForensicsAPI.remove(try ForensicsAPI.snapshotFolder(record, try context.parameters.require("folder"), state: state), principal: principal, state: state)
            return redirect("/environments/\(record.name)/evidence")
        }
        router.post("/environments/:name/evidence/:folder/remove") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let form = try await Form.read(request)
            try state.auth.checkCSRF(principal, request: request, form: form)
            guard principal.mayManage else { throw ServerError.forbidden("only an admin or instructor removes evidence") }
            let folder = try API.evidenceFolder(record, context, state: state)
            try EvidenceStore.remove(folder)
            state.logger.notice("evidence \(URL(fileURLWithPath: folder).lastPathComponent) removed by \(principal.user.name)")
            return redirect("/environments/\(record.name)/evidence")
        }
        router.get("/environments/:name/evidence/:folder") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let folder = try API.evidenceFolder(record, context, state: state)
            let slot = try state.heavy.enter(principal.user.name)
            defer { slot.release() }
            let (manifest, files) = try await state.verify(folder)
            let name = URL(fileURLWithPath: folder).lastPathComponent
            return page("Evidence", "evidence-folder", [
                "name": record.name, "folder": name, "verified": files.filter(\.verified).count, "total": files.count,
                "manifest": ["topologyDigest": manifest.topologyDigest, "created": manifest.created.description, "tool": manifest.tool],
                "files": files.map { ["path": $0.path, "bytes": $0.bytes, "sha256": $0.sha256, "verified": $0.verified, "name": record.name, "folder": name] as [String: Any] },
            ], principal: principal)
        }
        router.get("/environments/:name/timeline") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let store = TimelineStore(root: state.runsDirectory, environment: record.name)
            let recent = TimelineTail(path: store.current, fromEnd: true).history(store, limit: 200)
            let detail = try await API.detail(record, state: state, principal: principal)
            let facts = store.watchSettings()?.facts
            let job = try watchable(request, record, principal, state: state)
            let folder = store.folder
            let runs = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(RunsAPI.isRunID).sorted(by: >)
                .compactMap { RunsAPI.readRecord(folder + "/" + $0) }
                .map { ["id": $0.id, "started": $0.started, "endedBy": $0.endedBy, "sample": $0.sample.name, "deliveredTo": $0.deliveredTo,
                        "milestones": $0.milestones.map(\.name).joined(separator: ", ")] }
            var context: [String: Any] = [
                "name": record.name, "watched": facts != nil, "runs": runs,
                "picture": TopologyPicture.svg(networks: detail.networks, hosts: detail.hostList),
                // Whom a sample may be mailed to (a mailbox), and whom it may be opened for (a PC of theirs too).
                "people": (facts?.people ?? []).filter { $0.mail != nil }.map { person in
                    ["user": person.user, "name": person.name, "opens": !(facts?.hosts(of: person.user).isEmpty ?? true)] as [String: Any]
                },
                "events": recent.map { event in
                    ["time": TimelineEvent.timeText(event.time), "network": event.network ?? "", "kind": event.kind.rawValue,
                     "src": event.kind == .milestone ? "" : TimelineEvent.name(event.src), "dst": event.kind == .milestone ? "" : TimelineEvent.name(event.dst),
                     "what": event.what, "outside": event.outside] as [String: Any]
                },
            ]
            if let job { context["job"] = jobContext(JobView(job)) }
            return page("Timeline of \(record.name)", "timeline", context, principal: principal)
        }
        // A run started from the timeline page: the same form as the API's, and its job followed there.
        router.post("/environments/:name/runs") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let form = try await RunsAPI.readForm(request, principal: principal, state: state)
            let job = try await RunsAPI.start(form, record, principal: principal, state: state)
            return redirect("/environments/\(record.name)/timeline?job=\(job.id)")
        }
        router.get("/environments/:name/hosts/:host") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let host = try context.parameters.require("host")
            guard let resolved = await state.catalog.resolved(record), resolved.hosts.contains(where: { $0.name == host }) else {
                throw ServerError.notFound("host \(host) in \(record.name)")
            }
            let job = try watchable(request, record, principal, state: state)
            return page("\(host) in \(record.name)", "host", try await hostContext(record, host: host, request: request, job: job, state: state), principal: principal)
        }
        router.get("/environments/:name/hosts/:host/console") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let record = try API.visible(to: principal, context, state: state)
            let host = try context.parameters.require("host")
            guard let resolved = await state.catalog.resolved(record), resolved.hosts.contains(where: { $0.name == host }) else {
                throw ServerError.notFound("host \(host) in \(record.name)")
            }
            return page("Console of \(host)", "console", ["name": record.name, "host": host], principal: principal, xterm: true)
        }
        router.get("/jobs") { request, _ in
            let principal = try signedInOrRedirect(request, state: state)
            let jobs = try state.store.jobs().filter { try API.mayWatch($0, principal, state: state) }.map(JobView.init)
            return page("Jobs", "jobs", ["jobs": jobs.map(jobContext)], principal: principal)
        }
        router.get("/jobs/:id") { request, context in
            let principal = try signedInOrRedirect(request, state: state)
            let id = try context.parameters.require("id")
            guard let job = try state.store.job(id), try API.mayWatch(job, principal, state: state) else { throw ServerError.notFound("job \(id)") }
            return page("Job", "job", jobContext(JobView(job)), principal: principal)
        }
    }

    // MARK: - Plumbing

    /// Errors on pages as pages (the API keeps its JSON).
    struct ErrorPages: RouterMiddleware {
        typealias Context = BasicRequestContext

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as ServerError where !request.uri.path.hasPrefix("/api/") && !request.uri.path.hasPrefix("/assets/") {
                let title = error.status == .notFound ? "Not found" : error.status == .forbidden ? "Not allowed"
                    : error.status == .tooManyRequests ? "Not now" : "Cannot do that"
                var response = page(title, "message", ["title": title, "message": error.message.prefix(1).uppercased() + error.message.dropFirst() + "."],
                                    principal: nil, status: error.status)
                // A browser or a script told to wait is told how long, as the API tells it.
                if let retryAfter = error.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
                return response
            }
        }
    }

    /// Pages send a browser without a session to the sign-in page instead of answering 401.
    struct SignInFirst: Error, HTTPResponseError {
        var status: HTTPResponse.Status { .seeOther }
        func response(from request: Request, context: some RequestContext) -> Response { redirect("/login") }
    }

    static func signedInOrRedirect(_ request: Request, state: ServerState) throws -> Principal {
        guard let principal = try state.auth.principal(request) else { throw SignInFirst() }
        return principal
    }

    static func signedIn(_ user: User, state: ServerState, to location: String, request: Request) throws -> Response {
        let (cookie, _) = try state.auth.startSession(for: user)
        var response = redirect(location)
        response.setCookie(Cookie(name: Authenticator.sessionCookie, value: cookie, maxAge: Int(Authenticator.sessionSeconds), path: "/",
                                  secure: secure(request), httpOnly: true, sameSite: .strict))
        return response
    }

    /// Cookies say `Secure` when the browser reached the server over TLS: behind a proxy that ends
    /// TLS and says so (`X-Forwarded-Proto: https`), as the server itself speaks plain HTTP.
    static func secure(_ request: Request) -> Bool {
        // The first proxy's word, when several are listed.
        let proto = request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.split(separator: ",").first
        return proto?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
    }

    /// The sign-in page with a new form token, and the cookie it must come back with.
    static func signInPage(_ request: Request, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let token = Secrets.make()
        var context = context
        context["token"] = token
        var response = page("Sign in", "login", context, principal: nil, status: status)
        response.setCookie(Cookie(name: Authenticator.signInCookie, value: token, maxAge: 3600, path: "/login", secure: secure(request),
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    static func linkNotValid() -> Response {
        page("Link not valid", "message", ["title": "Link not valid",
                                           "message": "This link is not (or no longer) valid: a link opens one session, within a week. Ask your instructor for a new one."],
             principal: nil, status: .notFound)
    }

    /// The job `?job=ID` names, when it is this environment's and the viewer may watch it.
    static func watchable(_ request: Request, _ record: EnvironmentRecord, _ principal: Principal, state: ServerState) throws -> Job? {
        guard let id = request.uri.queryParameters.get("job"), let job = try state.store.job(String(id)),
              job.environment == record.name || job.targets.split(separator: " ").contains(Substring(record.name)),
              try API.mayWatch(job, principal, state: state) else { return nil }
        return job
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func page(_ title: String, _ template: String, _ context: [String: Any], principal: Principal?, status: HTTPResponse.Status = .ok,
                     xterm: Bool = false) -> Response {
        var context = context
        context["csrf"] = principal?.csrf ?? ""
        context["manage"] = principal?.mayManage ?? false
        let body = Templates.library.render(context, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "body": body, "xterm": xterm]
        if let principal { layout["user"] = ["name": principal.user.name, "role": principal.role.rawValue, "csrf": principal.csrf ?? ""] }
        let html = Templates.library.render(layout, withTemplate: "layout") ?? body
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: - Page contexts

    static func environmentsPage(_ principal: Principal, state: ServerState, source: String = "", diagnostics: [DiagnosticView] = [],
                                 status: HTTPResponse.Status = .ok) async throws -> Response {
        let environments = try await API.environmentList(principal, state: state).map { view -> [String: Any] in
            var context = summaryContext(view)
            context["bar"] = healthBar(view)
            return context
        }
        let marked = Set(diagnostics.map(\.line))
        let lines = source.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().map { index, text in
            ["number": index + 1, "text": String(text), "marked": marked.contains(index + 1)] as [String: Any]
        }
        return page("Environments", "environments", [
            "environments": environments, "topology": source, "hasDiagnostics": !diagnostics.isEmpty, "lines": lines,
            "errors": diagnostics.filter { $0.severity == "error" }.count,
            "diagnostics": diagnostics.map { ["line": $0.line, "column": $0.column, "severity": $0.severity, "message": $0.message, "id": $0.id] as [String: Any] },
        ], principal: principal, status: status)
    }

    static func summaryContext(_ view: EnvironmentView) -> [String: Any] {
        var context: [String: Any] = ["name": view.name, "hosts": view.hosts, "healthy": view.healthy, "unhealthy": view.unhealthy, "absent": view.absent,
                                      "deployed": view.deployed, "description": view.description ?? ""]
        if let copyOf = view.copyOf { context["copyOf"] = copyOf }
        if let student = view.student { context["student"] = student }
        if let checkedAt = view.checkedAt { context["checkedAt"] = time(checkedAt) }
        return context
    }

    static func environmentContext(_ detail: EnvironmentDetail, job: Job?, principal: Principal) -> [String: Any] {
        var context = summaryContext(detail.environment)
        context["picture"] = TopologyPicture.svg(networks: detail.networks, hosts: detail.hostList)
        context["hostList"] = detail.hostList.map { host -> [String: Any] in
            ["name": host.name, "domain": host.domain, "addresses": host.addresses, "networks": host.networks, "state": host.state, "health": host.health,
             "owner": host.owner ?? "", "environment": detail.environment.name,
             "probes": host.probes.map { ["probe": $0.probe, "passed": $0.passed, "detail": $0.detail] as [String: Any] }]
        }
        context["hasChecks"] = !detail.checks.isEmpty
        context["checks"] = detail.checks.map { ["label": $0.label] }
        context["hasJobs"] = !detail.jobs.isEmpty
        context["jobs"] = detail.jobs.map(jobContext)
        if let job {
            context["job"] = jobContext(JobView(job))
        }
        return context
    }

    /// A host's page: its snapshots and the resets' evidence that hold it, each readable by view, and
    /// the view asked for (`?snapshot=` or `?evidence=`, and `view=`).
    static func hostContext(_ record: EnvironmentRecord, host: String, request: Request, job: Job?, state: ServerState) async throws -> [String: Any] {
        let views = Forensics.View.allCases.map(\.rawValue)
        func links(_ folder: String) -> [[String: String]] { views.map { ["view": $0, "folder": folder, "name": record.name, "host": host] } }
        let snapshots = ForensicsAPI.snapshots(of: record.name, state: state).filter { $0.host == host }
        let kept = EvidenceFolder.list(in: state.evidenceDirectory, environment: record.name).sorted(by: >)
            .filter { FileManager.default.fileExists(atPath: state.evidenceDirectory + "/" + $0 + "/" + host) }
        var context: [String: Any] = [
            "name": record.name, "host": host,
            "snapshots": snapshots.map { ["taken": time($0.taken), "paused": $0.pausedMS, "memory": ByteCount.text($0.memoryBytes), "views": links($0.name)] as [String: Any] },
            "evidence": kept.map { ["folder": $0, "views": links($0)] as [String: Any] }, "hasEvidence": !kept.isEmpty,
        ]
        if let job { context["job"] = jobContext(JobView(job)) }
        let parameters = request.uri.queryParameters
        if let name = parameters.get("view"), let view = Forensics.View(rawValue: name) {
            var folder: String?, api = "", label = ""
            if let snapshot = parameters.get("snapshot"), snapshots.contains(where: { $0.name == snapshot }) {
                folder = state.snapshotsDirectory + "/" + snapshot
                api = "/api/v1/environments/\(record.name)/snapshots/\(snapshot)/forensics/\(name)"
                label = "the snapshot " + snapshot
            } else if let evidence = parameters.get("evidence"), kept.contains(evidence) {
                folder = state.evidenceDirectory + "/" + evidence + "/" + host
                api = "/api/v1/environments/\(record.name)/evidence/\(evidence)/hosts/\(host)/forensics/\(name)"
                label = "the evidence " + evidence
            }
            if let folder {
                var reading: [String: Any] = ["view": name, "source": label, "api": api]
                do {
                    let (columns, rows) = Forensics.table(try await ForensicsAPI.analyse(view, folder: folder, record: record, state: state))
                    reading["columns"] = columns
                    reading["rows"] = rows.map { ["cells": $0] }
                    reading["count"] = rows.count
                } catch let error as ServerError {
                    reading["problem"] = error.message
                    reading["count"] = 0
                }
                context["reading"] = reading
            }
        }
        return context
    }

    static func jobContext(_ job: JobView) -> [String: Any] {
        var context: [String: Any] = ["id": job.id, "kind": job.kind, "environment": job.environment, "state": job.state.rawValue,
                                      "createdAt": time(job.createdAt), "error": job.error ?? ""]
        if let seconds = job.seconds { context["seconds"] = String(format: "%.1f", seconds) }
        return context
    }

    static func classroomContext(_ record: EnvironmentRecord, links: API.CopiesAnswer?, state: ServerState, principal: Principal) async throws -> [String: Any] {
        var copies: [[String: Any]] = []
        for copy in try state.store.copies(of: record.name) { copies.append(summaryContext(try await API.summary(copy, state: state))) }
        var context: [String: Any] = ["name": record.name, "copies": copies, "hasCopies": !copies.isEmpty, "hasLinks": links != nil]
        if let links {
            context["links"] = links.copies.map { ["student": $0.student, "environment": $0.environment, "link": $0.link] }
            context["job"] = ["id": links.job.id]
        }
        return context
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// Healthy, unhealthy and not-running hosts as one bar (SVG: no inline styles under the pages' CSP).
    static func healthBar(_ view: EnvironmentView) -> String {
        let width = 120.0
        let total = Double(max(1, view.hosts))
        let healthy = width * Double(view.healthy) / total
        let unhealthy = width * Double(view.unhealthy) / total
        return #"<svg class="bar" width="120" height="10" role="img" aria-label="health"><rect width="120" height="10" rx="5"/>"#
            + String(format: #"<rect class="healthy" width="%.1f" height="10"/><rect class="unhealthy" x="%.1f" width="%.1f" height="10"/></svg>"#,
                     healthy, healthy, unhealthy)
    }
}

/// `application/x-www-form-urlencoded` bodies of the pages' forms.
enum Form {
    static func read(_ request: Request, limit: Int = 64 * 1024) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: limit)
        return parse(String(buffer: buffer))
    }

    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(parts[0])
            fields[key] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }
}

/// The topology as a picture: each network a band with its hosts as boxes coloured by health; a
/// host on several networks (a gateway) stands in a column of its own in each of its bands, its
/// boxes joined by a line.
enum TopologyPicture {
    static let columns = 11
    static let boxWidth = 92.0
    static let boxHeight = 22.0
    static let gap = 8.0
    static let labelWidth = 150.0

    static func svg(networks: [NetworkView], hosts: [HostView]) -> String {
        let known = Set(networks.map(\.name))
        var bands: [(network: NetworkView, gateways: [HostView], hosts: [HostView])] = networks.map { network in
            (network, hosts.filter { $0.networks.count > 1 && $0.networks.contains(network.name) },
             hosts.filter { $0.networks.count <= 1 && $0.networks.first == network.name })
        }
        let unplaced = hosts.filter { $0.networks.isEmpty || !$0.networks.contains(where: known.contains) }
        if !unplaced.isEmpty { bands.append((NetworkView(name: "other", cidr: "", gateway: nil, active: false), [], unplaced)) }
        let gatewayX = labelWidth + gap
        let gridX = gatewayX + boxWidth + 3 * gap
        let width = gridX + Double(columns) * (boxWidth + gap) + gap
        var y = 10.0
        var body = ""
        var appearances: [String: [(x: Double, y: Double)]] = [:]
        func box(_ host: HostView, x: Double, y: Double, gateway: Bool) -> String {
            String(format: #"<g class="host %@%@" data-domain="%@" data-host="%@"><title>%@ %@ (%@)</title><rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="4"/><text x="%.0f" y="%.0f">%@</text></g>"#,
                   host.health, gateway ? " gateway" : "", escape(host.domain), escape(host.name), escape(host.name), escape(host.addresses.joined(separator: ", ")),
                   host.health, x, y, boxWidth, boxHeight, x + 6, y + 15, escape(String(host.name.prefix(14))))
        }
        for (network, gateways, members) in bands {
            let rows = max(1, gateways.count, Int((Double(members.count) / Double(columns)).rounded(.up)))
            let height = Double(rows) * (boxHeight + gap) + gap + 6
            body += String(format: #"<rect class="net" x="4" y="%.0f" width="%.0f" height="%.0f" rx="6"/>"#, y, width - 8, height)
            body += String(format: #"<text x="14" y="%.0f" font-weight="600">%@</text><text x="14" y="%.0f">%@</text>"#,
                           y + 20, escape(network.name), y + 36, escape(network.cidr))
            for (index, host) in gateways.enumerated() {
                let top = y + gap + 3 + Double(index) * (boxHeight + gap)
                appearances[host.name, default: []].append((gatewayX, top))
                body += box(host, x: gatewayX, y: top, gateway: true)
            }
            for (index, host) in members.enumerated() {
                body += box(host, x: gridX + Double(index % columns) * (boxWidth + gap), y: y + gap + 3 + Double(index / columns) * (boxHeight + gap), gateway: false)
            }
            y += height + 10
        }
        // A gateway's boxes, joined down the gateway column.
        var lines = ""
        for boxes in appearances.values where boxes.count > 1 {
            for (upper, lower) in zip(boxes, boxes.dropFirst()) {
                lines += String(format: #"<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>"#, upper.x + boxWidth / 2, upper.y + boxHeight, lower.x + boxWidth / 2, lower.y)
            }
        }
        return String(format: #"<svg class="topology" id="topology" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="topology">"#,
                      width, y, width, y) + lines + body + "</svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
