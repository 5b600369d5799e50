import Foundation
import TestSupport
import Testing

/// The quickstart through the server's API, in the lab: upload, apply, a host's console over the
/// WebSocket, reset with evidence, the evidence downloaded and its hashes checked, destroy.
extension EndToEnd {
@Suite struct ServerEndToEndTests {
    /// The server runs inside the lab's namespace (its probes reach the guests from there), so the
    /// test calls it from there too, with curl.
    struct API {
        let base: String
        let token: String

        func call(_ method: String, _ path: String, body: String? = nil, type: String = "application/json", output: String? = nil) throws -> (status: Int, body: String) {
            var arguments = ["ip", "netns", "exec", Lab.namespace, "curl", "-s", "-X", method, "-H", "Authorization: Bearer \(token)", "-w", "\n%{http_code}"]
            if let body { arguments += ["-H", "Content-Type: \(type)", "--data-binary", body] }
            if let output { arguments += ["-o", output] }
            let result = try Lab.run(arguments + [base + path], timeout: 120)
            let text = result.stdout
            let newline = text.lastIndex(of: "\n") ?? text.startIndex
            return (Int(text[text.index(after: newline)...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, String(text[..<newline]))
        }

        func json(_ method: String, _ path: String, body: String? = nil, type: String = "application/json") throws -> (status: Int, value: Any?) {
            let (status, text) = try call(method, path, body: body, type: type)
            return (status, try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
        }

        func waitForJob(_ id: String, timeout: Double = 900) throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let job = try json("GET", "/api/v1/jobs/\(id)").value as? [String: Any], let state = job["state"] as? String, !["queued", "running"].contains(state) {
                    return job
                }
                Thread.sleep(forTimeInterval: 1)
            }
            throw ServerFailure(message: "job \(id) did not end")
        }
    }

    @Test(.enabled(if: Lab.enabled, "needs the lab: make test sets it up")) func quickstartThroughTheAPI() throws {
        let environment = "e2e-api"
        let octet = Lab.octet + 20
        let source = try String(contentsOfFile: Lab.projectRoot + "/topologies/quickstart.yaml", encoding: .utf8)
            .replacingOccurrences(of: "\nname: quickstart\n", with: "\nname: \(environment)\n").replacingOccurrences(of: "10.77.", with: "10.\(octet).")
        let server = try ServerProcess(arguments: ["--connect", "qemu:///system"], prefix: ["/usr/sbin/ip", "netns", "exec", Lab.namespace])
        let api = API(base: server.base, token: server.adminToken)
        let downloads = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-download-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        defer {
            _ = try? Lab.decoynet(["destroy", environment])
            server.stop()
            try? FileManager.default.removeItem(atPath: downloads)
            try? FileManager.default.removeItem(atPath: server.data)
        }

        #expect(try api.json("POST", "/api/v1/environments", body: source, type: "application/yaml").status == 201)
        let apply = try #require(try api.json("POST", "/api/v1/environments/\(environment)/apply").value as? [String: Any])
        let applied = try api.waitForJob(try #require(apply["id"] as? String))
        #expect(applied["state"] as? String == "succeeded", "\(applied)")
        let health = ((applied["outcome"] as? [String: Any])?["health"] as? [[String: Any]]) ?? []
        #expect(health.count == 3)
        #expect(health.allSatisfy { ($0["probes"] as? [[String: Any]] ?? []).allSatisfy { $0["passed"] as? Bool == true } }, "\(health)")

        // The console of ws over the WebSocket: a command typed into it is answered by the guest.
        let marker = "decoynet-\(UUID().uuidString.prefix(8).lowercased())"
        let console = try Lab.run(["ip", "netns", "exec", Lab.namespace, "python3", "-c", Self.webSocketClient,
                                   "127.0.0.1", String(server.port), "/api/v1/environments/\(environment)/hosts/ws/console", api.token,
                                   "echo \(marker)-$((6*7))\r"], timeout: 60)
        #expect(console.stdout.contains("\(marker)-42"), "the guest ran the command: \(console.stdout.suffix(600)) \(console.stderr)")

        // libvirtd restarted under the running server: its next job opens a new connection.
        try Lab.restartLibvirtd()

        // Reset ws with evidence, as a job; the folder's files downloaded through the API hash as listed.
        let reset = try #require(try api.json("POST", "/api/v1/environments/\(environment)/reset", body: #"{"hosts":["ws"],"evidence":true}"#).value as? [String: Any])
        let resetJob = try api.waitForJob(try #require(reset["id"] as? String))
        #expect(resetJob["state"] as? String == "succeeded", "\(resetJob)")
        let folders = try #require(try api.json("GET", "/api/v1/environments/\(environment)/evidence").value as? [[String: Any]])
        let folder = try #require(folders.first?["name"] as? String)
        let detail = try #require(try api.json("GET", "/api/v1/environments/\(environment)/evidence/\(folder)").value as? [String: Any])
        let files = try #require(detail["files"] as? [[String: Any]])
        #expect(Set(files.compactMap { $0["path"] as? String }) == ["ws/domain.xml", "ws/leases.json", "ws/console.log", "ws/overlay.qcow2"])
        #expect(files.allSatisfy { $0["verified"] as? Bool == true })
        try FileManager.default.createDirectory(atPath: downloads + "/ws", withIntermediateDirectories: true)
        for name in ["SHA256SUMS", "manifest.json"] + files.compactMap({ $0["path"] as? String }) {
            let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
            let (status, _) = try api.call("GET", "/api/v1/environments/\(environment)/evidence/\(folder)/file?path=\(encoded)", output: downloads + "/" + name)
            #expect(status == 200, "\(name)")
        }
        let check = try Lab.run(["sh", "-c", "cd '\(downloads)' && sha256sum -c SHA256SUMS"])
        #expect(check.status == 0, "the downloaded files hash as listed: \(check.stdout)\(check.stderr)")
        // A path the folder does not list is not served.
        #expect(try api.call("GET", "/api/v1/environments/\(environment)/evidence/\(folder)/file?path=..%2F..%2Fadmin.token").status == 404)

        let destroy = try #require(try api.json("POST", "/api/v1/environments/\(environment)/destroy").value as? [String: Any])
        #expect(try api.waitForJob(try #require(destroy["id"] as? String))["state"] as? String == "succeeded")
        #expect(try Lab.leftovers(environment).isEmpty)
    }

    /// A WebSocket client in Python's standard library: connects with the token, sends the keys,
    /// prints what comes back for a few seconds.
    static let webSocketClient = #"""
    import base64, os, socket, struct, sys, time
    host, port, path, token, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    s = socket.create_connection((host, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    print(head.split(b"\r\n")[0].decode(), flush=True)
    if b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit(1)
    def send(data):
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        s.sendall(struct.pack("!BB", 0x82, 0x80 | len(body)) + mask + body)
    time.sleep(0.5)
    send(b"\r")
    time.sleep(0.5)
    send(keys.encode())
    s.settimeout(0.5)
    received, deadline, buffer = b"", time.time() + 8, b""
    while time.time() < deadline:
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            buffer += chunk
        except socket.timeout:
            pass
        while len(buffer) >= 2:
            length, offset = buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4: break
                length, offset = struct.unpack("!H", buffer[2:4])[0], 4
            elif length == 127:
                if len(buffer) < 10: break
                length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
            if len(buffer) < offset + length: break
            received += buffer[offset:offset + length]
            buffer = buffer[offset + length:]
    print(received.decode(errors="replace"))
    """#
}
}
