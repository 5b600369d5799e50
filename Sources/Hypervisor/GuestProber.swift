import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Connections to guests for health probes: the other side effect DecoyNet has, behind its own
/// protocol so the engine never opens sockets itself.
public protocol GuestProber: Sendable {
    /// nil when a TCP connection to `address:port` opened within `timeout` seconds, else why not.
    func tcp(address: String, port: Int, timeout: Double) async -> String?
    /// Connects over TCP, sends `request` (nothing when empty) and returns what the server sent
    /// until `isComplete` says the answer is whole, the server closes, `limit` bytes, or `timeout`.
    func exchange(address: String, port: Int, request: [UInt8], timeout: Double, limit: Int,
                  isComplete: @escaping @Sendable ([UInt8]) -> Bool) async -> Result<[UInt8], ProbeProblem>
    /// One UDP datagram out and the first one back.
    func datagram(address: String, port: Int, request: [UInt8], timeout: Double) async -> Result<[UInt8], ProbeProblem>
    /// The prober for one environment's guests. A prober that runs probes on threads of its own
    /// gives each environment its own, so guests that hold their probes (a banner dripped a byte
    /// at a time, a port that accepts and never answers) delay only their own environment.
    func forEnvironment(_ environment: String) -> any GuestProber
}

extension GuestProber {
    public func forEnvironment(_ environment: String) -> any GuestProber { self }
}

/// Probes with plain sockets from this process, so they reach guests only when the process runs
/// where the guests' networks are (inside the lab's network namespace).
///
/// Each environment's probes run on threads of their own (`forEnvironment`): `perEnvironment` of
/// them, made when the environment is first probed, kept while a check holds them and for a minute
/// after the last lookup (let go at the next lookup after that). Probes made without an environment
/// run on `parallelism` threads, made when the first such probe comes. At most
/// `maximumEnvironments` environments have threads of their own at once; those probed beyond that
/// share one more set of `perEnvironment` threads, so the process never holds more than
/// `parallelism + (maximumEnvironments + 1) * perEnvironment` probe threads.
public final class SocketProber: GuestProber {
    private let threads: Int
    private let name: String
    private let made = Mutex<BlockingPool?>(nil)
    private let perEnvironment: Int
    /// nil in an environment's own prober.
    private let environments: EnvironmentProbers?

    /// `parallelism`: threads for probes made without an environment; `perEnvironment`: threads
    /// of each environment's own prober.
    public convenience init(parallelism: Int = 16, perEnvironment: Int = 8, maximumEnvironments: Int = 64) {
        self.init(threads: parallelism, name: "probe", perEnvironment: perEnvironment, environments: EnvironmentProbers(maximum: maximumEnvironments))
    }

    private init(threads: Int, name: String, perEnvironment: Int, environments: EnvironmentProbers?) {
        self.threads = threads
        self.name = name
        self.perEnvironment = perEnvironment
        self.environments = environments
    }

    /// The threads, made on first use.
    private var pool: BlockingPool {
        made.withLock { pool in
            if let pool { return pool }
            let new = BlockingPool(threads: threads, name: name)
            pool = new
            return new
        }
    }

    public func forEnvironment(_ environment: String) -> any GuestProber {
        guard let environments else { return self }
        return environments.prober(for: environment) { name in
            // Linux keeps 15 characters of a thread's name: `pr-` and 8 of the environment's, `-N`.
            SocketProber(threads: perEnvironment, name: "pr-\(name.prefix(8))", perEnvironment: perEnvironment, environments: nil)
        }
    }

    /// How many environments have a prober of their own now (kept, or held by a running check).
    public var environmentProbers: Int { environments?.count ?? 0 }

    public func tcp(address: String, port: Int, timeout: Double) async -> String? {
        await attempt { () -> String? in
            switch Self.connect(address: address, port: port, timeout: timeout) {
            case let .success(descriptor):
                close(descriptor)
                return nil
            case let .failure(problem):
                return problem.message
            }
        }
    }

    public func exchange(address: String, port: Int, request: [UInt8], timeout: Double, limit: Int,
                         isComplete: @escaping @Sendable ([UInt8]) -> Bool) async -> Result<[UInt8], ProbeProblem> {
        do {
            return try await pool.run { () -> Result<[UInt8], ProbeProblem> in
                // One deadline for the whole exchange: a guest that sends a byte now and then must
                // not hold a probe thread past its timeout.
                let deadline = Date().addingTimeInterval(timeout)
                let descriptor: Int32
                switch Self.connect(address: address, port: port, timeout: timeout) {
                case let .success(connected): descriptor = connected
                case let .failure(problem): return .failure(ProbeProblem(problem.message))
                }
                defer { close(descriptor) }
                Self.setReceiveTimeout(descriptor, timeout)
                if !request.isEmpty {
                    guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
                        return .failure(ProbeProblem("cannot send the request"))
                    }
                }
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                var timedOut = false
                while received.count < limit {
                    let remaining = deadline.timeIntervalSinceNow
                    guard remaining > 0 else {
                        timedOut = true
                        break
                    }
                    Self.setReceiveTimeout(descriptor, remaining)
                    let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                    if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { timedOut = true }
                    if count <= 0 { break }
                    received += buffer[..<count]
                    if isComplete(received) { break }
                }
                guard received.isEmpty else { return .success(received) }
                // Connected but silent is a slow server (a loaded machine), not a closed port.
                return .failure(timedOut ? ProbeProblem.slow(timeout) : ProbeProblem("closed the connection without an answer"))
            }
        } catch {
            return .failure(ProbeProblem("probe failed: \(error)"))
        }
    }

    public func datagram(address: String, port: Int, request: [UInt8], timeout: Double) async -> Result<[UInt8], ProbeProblem> {
        do {
            return try await pool.run { () -> Result<[UInt8], ProbeProblem> in
                var target = sockaddr_in()
                target.sin_family = sa_family_t(AF_INET)
                target.sin_port = in_port_t(UInt16(port).bigEndian)
                guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return .failure(ProbeProblem("bad address \(address)")) }
                let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                guard descriptor >= 0 else { return .failure(ProbeProblem(String(cString: strerror(errno)))) }
                defer { close(descriptor) }
                Self.setReceiveTimeout(descriptor, timeout)
                let sent = withUnsafePointer(to: &target) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        request.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, address, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                }
                guard sent == request.count else { return .failure(ProbeProblem("cannot send the request")) }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                // No datagram back may be a slow server or none at all (nothing tells them apart): not slow.
                return count > 0 ? .success(Array(buffer[..<count])) : .failure(ProbeProblem(count == 0 ? "no answer" : String(cString: strerror(errno))))
            }
        } catch {
            return .failure(ProbeProblem("probe failed: \(error)"))
        }
    }

    /// A `recv` on `descriptor` gives up after `timeout` seconds (at least a millisecond: zero
    /// would mean never).
    private static func setReceiveTimeout(_ descriptor: Int32, _ timeout: Double) {
        let timeout = max(timeout, 0.001)
        var seconds = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Runs a probe on the probe threads; its result is the problem found, nil for none.
    private func attempt(_ body: @escaping @Sendable () -> String?) async -> String? {
        do {
            return try await pool.run(body)
        } catch {
            return "probe failed: \(error)"
        }
    }

    struct Problem: Error {
        var message: String
    }

    private static func connect(address: String, port: Int, timeout: Double) -> Result<Int32, Problem> {
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return .failure(Problem(message: "bad address \(address)")) }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failure(Problem(message: String(cString: strerror(errno)))) }
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0, errno != EINPROGRESS {
            let message = String(cString: strerror(errno))
            close(descriptor)
            return .failure(Problem(message: message))
        }
        if result != 0 {
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            guard ready == 1 else {
                close(descriptor)
                return .failure(Problem(message: "timed out"))
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(descriptor)
                return .failure(Problem(message: String(cString: strerror(error))))
            }
        }
        // Back to blocking for the exchange, which has its own receive timeout.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return .success(descriptor)
    }
}

/// Each environment's own prober, kept while a check holds it and for `linger` seconds after its last
/// lookup, so the threads of an environment nobody probes any more end, and two checks of one
/// environment at once share one set of threads.
private final class EnvironmentProbers: @unchecked Sendable {
    private final class Entry {
        weak var held: SocketProber?
        var kept: SocketProber?
        var lastUse: Date

        init(_ prober: SocketProber, now: Date) {
            held = prober
            kept = prober
            lastUse = now
        }
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private let linger: Double
    private let maximum: Int
    /// The threads environments beyond `maximum` share, made when the first of them comes.
    private var overflow: SocketProber?

    init(linger: Double = 60, maximum: Int) {
        self.linger = linger
        self.maximum = max(maximum, 0)
    }

    /// `make` is given the name for the threads: the environment's, or `overflow`.
    func prober(for environment: String, make: (String) -> SocketProber) -> SocketProber {
        lock.withLock {
            let now = Date()
            for (name, entry) in entries where now.timeIntervalSince(entry.lastUse) > linger {
                entry.kept = nil
                if entry.held == nil { entries[name] = nil }
            }
            if let entry = entries[environment], let prober = entry.held {
                entry.kept = prober
                entry.lastUse = now
                return prober
            }
            guard entries.values.filter({ $0.held != nil }).count < maximum else {
                if let overflow { return overflow }
                let shared = make("overflow")
                overflow = shared
                return shared
            }
            let prober = make(environment)
            entries[environment] = Entry(prober, now: now)
            return prober
        }
    }

    var count: Int {
        lock.withLock { entries.values.filter { $0.held != nil }.count }
    }
}

/// Why a probe did not pass, in words for the health table.
public struct ProbeProblem: Error, Sendable, Equatable {
    public var message: String
    /// The server was reached but did not answer in time: worth waiting longer for.
    public var slow: Bool

    public init(_ message: String, slow: Bool = false) {
        self.message = message
        self.slow = slow
    }

    /// Whether a probe's detail is a slow answer's.
    public static func isSlow(_ detail: String) -> Bool { detail.hasPrefix("slow: ") }

    public static func slow(_ seconds: Double) -> ProbeProblem {
        ProbeProblem("slow: no answer within \(seconds.formatted(.number.precision(.fractionLength(0 ... 1)))) s", slow: true)
    }
}
