import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Hypervisor
import Naming

/// `/api/v1/environments/ENV/hosts/HOST/console`: a WebSocket carrying a host's serial console,
/// guest output as binary frames one way, keystrokes the other. Signed in as for the API; a
/// browser's session must come from a page of this server (its Origin is checked).
struct ConsoleSocket: Sendable {
    let state: ServerState

    typealias Handler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

    func upgrade(_ head: HTTPRequest) async throws -> ShouldUpgradeResult<Handler> {
        let parts = (head.path ?? "").split(separator: "?")[0].split(separator: "/").map(String.init)
        guard parts.count == 7, parts[0] == "api", parts[1] == "v1", parts[2] == "environments", parts[4] == "hosts", parts[6] == "console" else {
            return .dontUpgrade
        }
        let (environment, host) = (parts[3], parts[5])
        guard let principal = try principal(head) else { return .dontUpgrade }
        guard let record = try state.store.environment(environment), principal.maySee(record),
              let resolved = await state.catalog.resolved(record), resolved.hosts.contains(where: { $0.name == host }) else { return .dontUpgrade }
        let domain = Naming.object(environment: environment, name: host)
        let uri = state.operations.hypervisor.uri
        let logger = state.logger
        return .upgrade([:]) { inbound, outbound, _ in
            let console: ConsoleStream
            do {
                console = try ConsoleStream(uri: uri, domain: domain)
            } catch {
                try await outbound.write(.text("\r\n[no console: \(error)]\r\n"))
                return
            }
            logger.info("console of \(domain) opened by \(principal.user.name)")
            defer { console.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await chunk in console.output { try await outbound.write(.binary(ByteBuffer(bytes: chunk))) }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        switch message {
                        case let .binary(buffer): try console.write(Array(buffer: buffer))
                        case let .text(text): try console.write(Array(text.utf8))
                        }
                    }
                }
                // Either side ending ends both.
                try await group.next()
                group.cancelAll()
                console.close()
            }
        }
    }

    /// The caller of an upgrade request: a bearer token, or a session cookie sent by one of this
    /// server's own pages.
    private func principal(_ head: HTTPRequest) throws -> Principal? {
        if let header = head.headerFields[.authorization], header.lowercased().hasPrefix("bearer ") {
            return try state.store.user(token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)).map { Principal(user: $0, csrf: nil) }
        }
        let cookies = head.headerFields[values: .cookie].flatMap { $0.split(separator: ";") }
        guard let session = cookies.map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.hasPrefix(Authenticator.sessionCookie + "=") })
        else { return nil }
        // Another site's page cannot open a console with this browser's session.
        if let origin = head.headerFields[.origin], let authority = head.authority, origin != "http://" + authority, origin != "https://" + authority {
            return nil
        }
        guard let (user, csrf) = try state.store.session(String(session.dropFirst(Authenticator.sessionCookie.count + 1))) else { return nil }
        return Principal(user: user, csrf: csrf)
    }
}
