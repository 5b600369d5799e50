import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `decoynet serve` started as a user starts it, on a free loopback port, stopped (SIGTERM, as
/// Ctrl-C or systemd stop it) when the test is done with it.
public final class ServerProcess: @unchecked Sendable {
    public let process = Process()
    public let data: String
    public private(set) var port = 0
    public var base: String { "http://127.0.0.1:\(port)" }
    private let log = Pipe()
    private var output = ""
    private let lock = NSLock()

    /// `prefix`: a command to run it under, such as `ip netns exec decoynet-lab`.
    public init(data: String? = nil, arguments: [String] = ["--connect", "test:///default"], prefix: [String] = [],
                environment: [String: String] = [:]) throws {
        self.data = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-server-" + UUID().uuidString).path
        let command = prefix + [BuiltBinary.decoynet, "serve", "--listen", "127.0.0.1:0", "--data", self.data] + arguments
        process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
        process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardError = log
        process.standardOutput = log
        log.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.output += String(decoding: chunk, as: UTF8.self) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let range = lock.withLock({ output.range(of: "listening on http://127.0.0.1:") }) {
                let rest = lock.withLock { output[range.upperBound...] }
                if let port = Int(rest.prefix { $0.isNumber }) {
                    self.port = port
                    return
                }
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ServerFailure(message: "the server did not start: \(lock.withLock { output })")
    }

    /// What the server printed so far.
    public var printed: String { lock.withLock { output } }

    /// Stops it as Ctrl-C would and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.interrupt()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit {
        stop()
        log.fileHandleForReading.readabilityHandler = nil
    }

    public var adminToken: String {
        ((try? String(contentsOfFile: data + "/admin.token", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct ServerFailure: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// One HTTP exchange, as a test reads it.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as JSON (dictionaries, arrays, numbers, strings), or nil.
    public var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    public var object: [String: Any] { json as? [String: Any] ?? [:] }
    public var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    public func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
}

/// A small HTTP client over URLSession: no redirects followed, so tests see them.
public final class HTTPClient: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    public let base: String
    public var token: String?
    public var cookies: [String: String] = [:]
    /// Sent as `X-CSRF-Token` when set: what a signed-in page's script sends with a change.
    public var csrf: String?
    private lazy var session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)

    public init(base: String, token: String? = nil) {
        self.base = base
        self.token = token
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                           newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    @discardableResult
    public func send(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil, headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 120
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if !cookies.isEmpty { request.setValue(cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie") }
        if let csrf, method != "GET" { request.setValue(csrf, forHTTPHeaderField: "X-CSRF-Token") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: (data ?? Data(), response!)) }
            }.resume()
        }
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields { fields[String(describing: key)] = String(describing: value) }
        if let cookie = fields.first(where: { $0.key.lowercased() == "set-cookie" })?.value,
           let pair = cookie.split(separator: ";").first, let equals = pair.firstIndex(of: "=") {
            cookies[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return HTTPAnswer(status: http.statusCode, headers: fields, body: data)
    }

    public func get(_ path: String, headers: [String: String] = [:]) async throws -> HTTPAnswer { try await send("GET", path, headers: headers) }

    public func post(_ path: String, json: Any? = nil) async throws -> HTTPAnswer {
        try await send("POST", path, body: try json.map { try JSONSerialization.data(withJSONObject: $0) }, contentType: json == nil ? nil : "application/json")
    }

    public func post(_ path: String, yaml: String) async throws -> HTTPAnswer {
        try await send("POST", path, body: Data(yaml.utf8), contentType: "application/yaml")
    }

    public func post(_ path: String, form: [String: String]) async throws -> HTTPAnswer {
        let body = form.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }.joined(separator: "&")
        return try await send("POST", path, body: Data(body.utf8), contentType: "application/x-www-form-urlencoded")
    }

    /// Signs in on the sign-in page as a browser does: the form (its token and cookie), then the post.
    public func signIn(_ name: String, _ password: String) async throws -> HTTPAnswer {
        let form = try await get("/login")
        let token = form.text.firstMatch(of: /name="token" value="([0-9a-f]+)"/).map { String($0.1) } ?? ""
        return try await post("/login", form: ["name": name, "password": password, "token": token])
    }

    /// Opens a student's link as they do: its page, then its button (a session from now on); takes
    /// the session's CSRF token from a page. Returns the button's answer, or the page's when it is not 200.
    @discardableResult
    public func open(link path: String) async throws -> HTTPAnswer {
        let page = try await get(path)
        guard page.status == 200 else { return page }
        let answer = try await send("POST", path)
        if answer.status == 303 {
            csrf = try await get("/environments").text.firstMatch(of: /name="csrf" value="([0-9a-f]{64})"/).map { String($0.1) }
        }
        return answer
    }

    /// Polls a job's events, `tries` times 50 ms apart, until one's message contains `text`; whether one did.
    public func waitForEvent(_ id: String, containing text: String, tries: Int) async throws -> Bool {
        for _ in 0 ..< tries {
            let events = try await get("/api/v1/jobs/\(id)/events").array
            if events.contains(where: { (($0["event"] as? [String: Any])?["message"] as? String)?.contains(text) ?? false }) { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    /// Polls a job until it ends; returns it.
    public func waitForJob(_ id: String, timeout: Double = 600) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try await get("/api/v1/jobs/\(id)").object
            if let state = job["state"] as? String, !["queued", "running"].contains(state) { return job }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServerFailure(message: "job \(id) did not end within \(Int(timeout)) s")
    }
}
