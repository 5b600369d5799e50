import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt

/// Who is calling, and how: by bearer token (API clients: no CSRF token needed, a browser never
/// sends one on its own) or by session cookie (pages, and their scripts, which must send the
/// session's CSRF token with every change).
struct Principal: Sendable {
    var user: User
    /// The session's CSRF token; nil for a bearer token.
    var csrf: String?

    var id: Int64 { user.id ?? -1 }
    var role: Role { user.role }
    var mayManage: Bool { role == .admin || role == .instructor }

    /// A student sees only the copies given to them; everyone else sees everything.
    func maySee(_ environment: EnvironmentRecord) -> Bool {
        mayManage || environment.studentID == user.id
    }
}

/// Errors of the API and pages, each with its status; the message is safe to show.
struct ServerError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    /// For a topology that does not validate: its diagnostics.
    var details: [DiagnosticView]? = nil
    /// For 429: the seconds until the caller may try again (`Retry-After`).
    var retryAfter: Int? = nil

    /// Its message, as a job's error records it.
    var description: String { message }

    static func notFound(_ what: String) -> ServerError { ServerError(status: .notFound, message: "no \(what)") }
    static let unauthorized = ServerError(status: .unauthorized, message: "sign in: send 'Authorization: Bearer TOKEN' or a session cookie")
    static func forbidden(_ what: String) -> ServerError { ServerError(status: .forbidden, message: what) }
    static func badRequest(_ what: String) -> ServerError { ServerError(status: .badRequest, message: what) }

    struct Body: Codable {
        var error: String
        var diagnostics: [DiagnosticView]?
    }

    func response(from request: Request, context: some RequestContext) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSON.encode(Body(error: message, diagnostics: details)))))
    }
}

enum Secrets {
    /// 32 random bytes, hex: tokens, session ids and CSRF tokens.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0 ..< 32).map { _ in String(format: "%02x", UInt8.random(in: 0 ... 255, using: &generator)) }.joined()
    }

    /// bcrypt at cost 10 (about 50 ms here): slow enough for guessing, quick enough for a classroom.
    static func hashPassword(_ password: String) -> String { Bcrypt.hash(password, cost: 10) }

    static func verify(_ password: String, hash: String) -> Bool { !hash.isEmpty && Bcrypt.verify(password, hash: hash) }

    /// Equal strings, compared in time that does not depend on where they differ.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

struct Authenticator: Sendable {
    let store: Store
    static let sessionCookie = "decoynet_session"
    /// Sessions last a working day.
    static let sessionSeconds: Double = 12 * 3600
    /// A student's link opens one session, within a week of being made.
    static let linkSeconds: Double = 7 * 24 * 3600
    /// The sign-in form's own token (its cookie and its field must agree), so that another site
    /// cannot sign a browser in as someone else.
    static let signInCookie = "decoynet_sign_in"
    /// A bcrypt hash of nothing anyone knows, checked where a user has no password or no such user
    /// exists: every sign-in costs the same.
    static let decoyHash = "$2b$10$abcdefghijklmnopqrstuu5Rz0uHT1yCw3lzIuxwH8aLMa2pHl4nG"

    /// The caller, or nil when they sent nothing that signs them in.
    func principal(_ request: Request) throws -> Principal? {
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            guard let user = try store.user(token: token) else { return nil }
            return Principal(user: user, csrf: nil)
        }
        if let cookie = request.cookies[Self.sessionCookie]?.value, let (user, csrf) = try store.session(cookie) {
            return Principal(user: user, csrf: csrf)
        }
        return nil
    }

    func require(_ request: Request) throws -> Principal {
        guard let principal = try principal(request) else { throw ServerError.unauthorized }
        return principal
    }

    /// A change by a session must carry its CSRF token, in the `X-CSRF-Token` header or a form's
    /// `csrf` field; a bearer token needs none.
    func checkCSRF(_ principal: Principal, request: Request, form: [String: String] = [:]) throws {
        guard let expected = principal.csrf else { return }
        let sent = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? form["csrf"] ?? ""
        guard Secrets.equal(sent, expected) else { throw ServerError.forbidden("missing or wrong CSRF token: reload the page and try again") }
    }

    /// Signs a user in with their password, or with one of their API tokens in its place.
    func signIn(name: String, password: String) throws -> User? {
        // As slow as a real check whether the name exists or has a password (a student's has none),
        // so that timing tells neither.
        let user = try store.user(named: name)
        let hash = user.map(\.passwordHash).flatMap { $0.isEmpty ? nil : $0 }
        let matches = Secrets.verify(password, hash: hash ?? Self.decoyHash) && hash != nil
        let byToken = try store.user(token: password)
        guard let user else { return nil }
        if matches { return user }
        if let byToken, byToken.id == user.id { return user }
        return nil
    }

    /// A new session for `user`: its cookie value and CSRF token.
    func startSession(for user: User) throws -> (cookie: String, csrf: String) {
        let cookie = Secrets.make()
        let csrf = Secrets.make()
        try store.addSession(cookie, userID: user.id!, csrf: csrf, expiresAt: Date().addingTimeInterval(Self.sessionSeconds))
        return (cookie, csrf)
    }
}
