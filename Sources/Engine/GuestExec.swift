import Foundation
import Hypervisor
import LibvirtXML

/// A command run inside a guest: its exit status and output.
public struct ExecResult: Sendable, Codable, Equatable {
    public var exitCode: Int
    public var stdout: String
    public var stderr: String
    /// True when the command outlived its timeout (its output so far is kept).
    public var timedOut: Bool
}

/// Runs commands inside a running guest through the QEMU guest agent (libvirt's agent API:
/// `guest-exec`, then `guest-exec-status` until it exits). No network path is used.
public struct GuestExec: Sendable {
    public var hypervisor: any Hypervisor

    public init(hypervisor: any Hypervisor) {
        self.hypervisor = hypervisor
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// `arguments[0]` is the program, looked up in the guest's PATH by the agent.
    public func run(domain: String, arguments: [String], timeout: Double = 30) async throws -> ExecResult {
        guard let program = arguments.first else { throw Failure(description: "no command given") }
        let request: [String: Any] = ["path": program, "arg": Array(arguments.dropFirst()), "capture-output": true]
        let started = try await agent(domain, ["execute": "guest-exec", "arguments": request], timeout: 10)
        guard let pid = (started["return"] as? [String: Any])?["pid"] as? Int else {
            throw Failure(description: "the guest agent of \(domain) did not start the command")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var delay: UInt64 = 20_000_000
        while true {
            let status = try await agent(domain, ["execute": "guest-exec-status", "arguments": ["pid": pid]], timeout: 10)
            guard let answer = status["return"] as? [String: Any] else { throw Failure(description: "unexpected answer from the guest agent of \(domain)") }
            let exited = answer["exited"] as? Bool ?? false
            if exited || Date() >= deadline {
                func text(_ key: String) -> String {
                    (answer[key] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
                }
                let signal = answer["signal"] as? Int
                return ExecResult(exitCode: answer["exitcode"] as? Int ?? (signal.map { 128 + $0 } ?? -1), stdout: text("out-data"),
                                  stderr: text("err-data"), timedOut: !exited)
            }
            try await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 250_000_000)
        }
    }

    /// Writes `bytes` to `path` inside the guest (`guest-file-open`, `-write` in pieces, `-close`),
    /// replacing what is there.
    public func write(domain: String, path: String, bytes: [UInt8]) async throws {
        let opened = try await agent(domain, ["execute": "guest-file-open", "arguments": ["path": path, "mode": "w"]], timeout: 10)
        guard let handle = opened["return"] as? Int else {
            throw Failure(description: "the guest agent of \(domain) could not open \(path) for writing: \(Self.error(opened))")
        }
        var failure: Error?
        // 256 KiB a call: well inside the agent's message limit.
        var offset = 0
        while offset < bytes.count, failure == nil {
            let piece = bytes[offset ..< min(bytes.count, offset + (1 << 18))]
            do {
                let written = try await agent(domain, ["execute": "guest-file-write",
                                                       "arguments": ["handle": handle, "buf-b64": Data(piece).base64EncodedString()]], timeout: 30)
                guard let count = (written["return"] as? [String: Any])?["count"] as? Int, count == piece.count else {
                    throw Failure(description: "the guest agent of \(domain) did not write \(path): \(Self.error(written))")
                }
            } catch {
                failure = error
            }
            offset += piece.count
        }
        await close(domain, handle)
        if let failure { throw failure }
    }

    /// The guest's clock (`guest-get-time`).
    public func time(domain: String) async throws -> Date {
        let answer = try await agent(domain, ["execute": "guest-get-time"], timeout: 10)
        guard let nanoseconds = (answer["return"] as? NSNumber)?.doubleValue else {
            throw Failure(description: "the guest agent of \(domain) gave no time: \(Self.error(answer))")
        }
        return Date(timeIntervalSince1970: nanoseconds / 1e9)
    }

    /// What a file inside the guest holds from `offset` on, at most `limit` bytes, and the file's
    /// size (`guest-file-open`, `-seek`, `-read`, `-close`). A file shorter than `offset` (rotated)
    /// is read from its start: the offset to go on from is `offset + bytes.count`, or `bytes.count`.
    public func read(domain: String, path: String, from offset: Int, limit: Int = 1 << 20) async throws -> (bytes: Data, size: Int, from: Int) {
        let opened = try await agent(domain, ["execute": "guest-file-open", "arguments": ["path": path, "mode": "r"]], timeout: 10)
        guard let handle = opened["return"] as? Int else {
            throw Failure(description: "the guest agent of \(domain) could not open \(path): \(Self.error(opened))")
        }
        func seek(_ position: Int, _ whence: String) async throws -> Int {
            let answer = try await agent(domain, ["execute": "guest-file-seek", "arguments": ["handle": handle, "offset": position, "whence": whence]], timeout: 10)
            guard let at = (answer["return"] as? [String: Any])?["position"] as? Int else {
                throw Failure(description: "the guest agent of \(domain) could not seek in \(path): \(Self.error(answer))")
            }
            return at
        }
        do {
            let size = try await seek(0, "end")
            let start = size < offset ? 0 : offset
            var bytes = Data()
            if size > start {
                _ = try await seek(start, "set")
                while bytes.count < min(limit, size - start) {
                    let answer = try await agent(domain, ["execute": "guest-file-read",
                                                          "arguments": ["handle": handle, "count": min(1 << 16, limit - bytes.count)]], timeout: 10)
                    guard let result = answer["return"] as? [String: Any], let piece = (result["buf-b64"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
                        throw Failure(description: "the guest agent of \(domain) could not read \(path): \(Self.error(answer))")
                    }
                    bytes += piece
                    if piece.isEmpty || result["eof"] as? Bool == true { break }
                }
            }
            await close(domain, handle)
            return (bytes, size, start)
        } catch {
            await close(domain, handle)
            throw error
        }
    }

    private func close(_ domain: String, _ handle: Int) async {
        _ = try? await agent(domain, ["execute": "guest-file-close", "arguments": ["handle": handle]], timeout: 10)
    }

    private static func error(_ answer: [String: Any]) -> String {
        ((answer["error"] as? [String: Any])?["desc"] as? String) ?? "no answer"
    }

    private func agent(_ domain: String, _ command: [String: Any], timeout: Int) async throws -> [String: Any] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: command), as: UTF8.self)
        let answer: String
        do {
            answer = try await hypervisor.guestAgentCommand(domain: domain, json: json, timeoutSeconds: timeout)
        } catch {
            // libvirt says only that the agent is not configured; say why, when the host is stealthy.
            if let definition = try? await hypervisor.domainXML(name: domain), DomainMetadata(definition: definition)?.stealth == true {
                throw Failure(description: "\(domain) is stealthy: it has no guest agent, so nothing runs inside it from outside "
                    + "(its console takes root's login; decoynet test runs its detector self-test there)")
            }
            throw error
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any] else {
            throw Failure(description: "unreadable answer from the guest agent of \(domain)")
        }
        return object
    }
}
