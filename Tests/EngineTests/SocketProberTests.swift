import Foundation
import Hypervisor
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The socket prober on loopback: a server that accepts and says nothing is slow, one that
/// accepts and hangs up is not, and neither is mistaken for the other or for a closed port.
@Suite struct SocketProberTests {
    /// A listening socket on 127.0.0.1 and its port; `hangUp` closes each connection it accepts.
    /// Closing it ends its accepting thread and the connections it kept.
    final class Listener: @unchecked Sendable {
        let descriptor: Int32
        let port: Int
        private let kept = Kept()

        final class Kept: @unchecked Sendable {
            private let lock = NSLock()
            private var descriptors: [Int32] = []
            private var accepted = 0
            func add(_ descriptor: Int32) { lock.withLock { descriptors.append(descriptor) } }
            func count() { lock.withLock { accepted += 1 } }
            var connections: Int { lock.withLock { accepted } }
            func closeAll() { lock.withLock { descriptors.forEach { close($0) } } }
        }

        /// Connections accepted so far.
        var connections: Int { kept.connections }

        /// `drip`: each connection is sent one byte every `drip` seconds, up to 40. `greeting`: sent
        /// to each connection as soon as it is accepted.
        init(hangUp: Bool, drip: Double? = nil, greeting: String? = nil) throws {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.descriptor = descriptor
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(bound == 0 && listen(descriptor, 64) == 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(descriptor, $0, &length) }
            }
            port = Int(UInt16(bigEndian: address.sin_port))
            let kept = kept
            Thread.detachNewThread {
                while true {
                    let connection = accept(descriptor, nil, nil)
                    if connection < 0 { return }
                    kept.count()
                    if let greeting { _ = send(connection, greeting, greeting.utf8.count, Int32(MSG_NOSIGNAL)) }
                    if hangUp { close(connection) } else { kept.add(connection) }
                    if let drip, !hangUp {
                        Thread.detachNewThread {
                            for _ in 0 ..< 40 {
                                Thread.sleep(forTimeInterval: drip)
                                guard send(connection, "x", 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                            }
                        }
                    }
                }
            }
        }

        deinit {
            shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
            kept.closeAll()
        }
    }

    @Test func aSilentServerIsSlowAndAServerThatHangsUpIsNot() async throws {
        let prober = SocketProber(parallelism: 2)
        let silent = try Listener(hangUp: false)
        let start = Date()
        let slow = await prober.exchange(address: "127.0.0.1", port: silent.port, request: [], timeout: 0.5, limit: 512, isComplete: { _ in true })
        #expect(slow == .failure(ProbeProblem("slow: no answer within 0.5 s", slow: true)))
        #expect(Date().timeIntervalSince(start) >= 0.45)

        let hangingUp = try Listener(hangUp: true)
        let closed = await prober.exchange(address: "127.0.0.1", port: hangingUp.port, request: [], timeout: 2, limit: 512, isComplete: { _ in true })
        #expect(closed == .failure(ProbeProblem("closed the connection without an answer")))
        withExtendedLifetime((silent, hangingUp)) {}
    }

    @Test func aGuestThatDripsBytesIsHeldNoLongerThanTheTimeout() async throws {
        // A byte every 0.2 s: each read is within the timeout, the whole answer is not. Without a
        // deadline for the whole exchange the probe would read all 40 bytes, 8 s.
        let prober = SocketProber(parallelism: 1)
        let dripping = try Listener(hangUp: false, drip: 0.2)
        let answer = await prober.exchange(address: "127.0.0.1", port: dripping.port, request: [], timeout: 1, limit: 512, isComplete: { _ in false })
        let bytes = try answer.get()
        #expect((1 ... 10).contains(bytes.count), "\(bytes.count) bytes in a 1 s exchange")
        withExtendedLifetime(dripping) {}
    }

    /// The names of this process's threads that start with one of `prefixes`.
    func threads(named prefixes: [String]) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }.filter { name in prefixes.contains { name.hasPrefix($0) } }.sorted()
    }

    @Test func environmentsBeyondTheMaximumShareOneSetOfThreads() async throws {
        // Two environments may have threads of their own; the three after them share one set.
        let prober = SocketProber(parallelism: 1, perEnvironment: 1, maximumEnvironments: 2)
        let listener = try Listener(hangUp: true)
        let probers = ["capq-a", "capq-b", "capq-c", "capq-d", "capq-e"].map { prober.forEnvironment($0) }
        for environment in probers {
            #expect(await environment.tcp(address: "127.0.0.1", port: listener.port, timeout: 2) == nil)
        }
        #expect(prober.environmentProbers == 2)
        let objects = probers.map { $0 as AnyObject }
        #expect(objects[2] === objects[3] && objects[3] === objects[4], "the environments past the maximum share one prober")
        #expect(objects[0] !== objects[1] && objects[0] !== objects[2] && objects[1] !== objects[2])
        #expect(prober.forEnvironment("capq-a") as AnyObject === objects[0], "an environment with threads of its own keeps them")
        #expect(threads(named: ["pr-capq-", "pr-overflow"]) == ["pr-capq-a-0", "pr-capq-b-0", "pr-overflow-0"])
        withExtendedLifetime((listener, probers)) {}
    }
}
