import Foundation
import Hypervisor

/// A prober that answers as scripted instead of opening sockets: for checking what the health
/// checker makes of answers (ports that open late, wrong pages) without guests. libvirt itself is
/// never faked: the tests pair this with its test driver.
public final class FakeProber: GuestProber, @unchecked Sendable {
    private let lock = NSLock()
    /// `address:port` that accept connections from their n-th try on (1: at once).
    private let opensAt: [String: Int]
    /// What `exchange` returns from an `address:port` that accepts.
    private let answers: [String: [UInt8]]
    /// Seconds an `address:port` takes to answer once connected: a shorter timeout reads as slow.
    private let answersAfter: [String: Double]
    private var tries: [String: Int] = [:]
    private var timeouts: [String: [Double]] = [:]

    public init(opensAt: [String: Int], answers: [String: String] = [:], answersAfter: [String: Double] = [:]) {
        self.opensAt = opensAt
        self.answers = answers.mapValues { Array($0.utf8) }
        self.answersAfter = answersAfter
    }

    /// The timeouts `exchange` was given for `address:port`, in order.
    public func timeouts(_ key: String) -> [Double] { lock.withLock { timeouts[key, default: []] } }

    /// How often `address:port` was tried.
    public func tries(_ key: String) -> Int { lock.withLock { tries[key, default: 0] } }

    private func attempt(_ address: String, _ port: Int) -> Bool {
        let key = "\(address):\(port)"
        return lock.withLock {
            tries[key, default: 0] += 1
            guard let at = opensAt[key] else { return false }
            return tries[key]! >= at
        }
    }

    public func tcp(address: String, port: Int, timeout: Double) async -> String? {
        attempt(address, port) ? nil : "connection refused"
    }

    public func exchange(address: String, port: Int, request: [UInt8], timeout: Double, limit: Int,
                         isComplete: @escaping @Sendable ([UInt8]) -> Bool) async -> Result<[UInt8], ProbeProblem> {
        let key = "\(address):\(port)"
        lock.withLock { timeouts[key, default: []].append(timeout) }
        guard attempt(address, port) else { return .failure(ProbeProblem("connection refused")) }
        if let delay = answersAfter[key], timeout < delay { return .failure(ProbeProblem.slow(timeout)) }
        return .success(answers[key] ?? [])
    }

    public func datagram(address: String, port: Int, request: [UInt8], timeout: Double) async -> Result<[UInt8], ProbeProblem> {
        .failure(ProbeProblem("no answer"))
    }
}
