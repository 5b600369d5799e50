import Foundation

/// A fixed set of threads for blocking calls.
///
/// libvirt's calls block. Swift's cooperative pool has one thread per core (two here), so blocking
/// calls made on it would serialise a parallel apply; they run on these threads instead and the
/// awaiting task is resumed when they finish. The threads end when the pool is released.
public final class BlockingPool: Sendable {
    private let queue = JobQueue()

    public init(threads: Int, name: String) {
        for index in 0 ..< max(1, threads) {
            let queue = self.queue
            let label = "\(name)-\(index)"
            let thread = Thread {
                // The kernel's name too (15 characters), so `top -H` and /proc tell the threads
                // apart (glibc's pthread_setname_np is not visible to Swift; this is what it does).
                try? Data(label.utf8.prefix(15)).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
                queue.work()
            }
            thread.name = label
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit {
        queue.stop()
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.add {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false

    func add(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    func work() {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
