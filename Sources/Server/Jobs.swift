import Engine
import Foundation
import Logging

/// JSON as the API writes it: sorted keys, ISO 8601 dates.
enum JSON {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return (try? Array(encoder.encode(value))) ?? Array(#"{"error":"could not encode the answer"}"#.utf8)
    }

    static func string(_ value: some Encodable) -> String { String(decoding: encode(value), as: UTF8.self) }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(bytes))
    }
}

/// Runs jobs (apply, destroy, reset, test) one at a time per environment, records each event in
/// the store as it comes and hands it to whoever watches the job live.
actor JobRunner {
    private let store: Store
    private let logger: Logger
    private let metrics: ServerMetrics
    private var watchers: [String: [UUID: AsyncStream<JobEventRecord>.Continuation]] = [:]
    private var sequences: [String: Int] = [:]
    private var cancellations: [String: Cancellation] = [:]
    /// The last job started per environment: the next one waits for it.
    private var tails: [String: Task<Void, Never>] = [:]
    /// Called after each job ends (the health cache refreshes).
    private let onFinish: @Sendable (Job) async -> Void

    init(store: Store, logger: Logger, metrics: ServerMetrics, onFinish: @escaping @Sendable (Job) async -> Void) {
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.onFinish = onFinish
    }

    typealias Work = @Sendable (Cancellation, @escaping Operations.Events) async throws -> (outcome: String, succeeded: Bool)

    /// Records a job and starts it once earlier jobs on the same environments have ended.
    func submit(kind: String, environment: String, targets: [String], userID: Int64?, work: @escaping Work) throws -> Job {
        let job = Job(id: UUID().uuidString.lowercased(), kind: kind, environment: environment, targets: targets.joined(separator: " "),
                      state: .queued, userID: userID, createdAt: Date())
        try store.insert(job)
        let cancellation = Cancellation()
        cancellations[job.id] = cancellation
        let previous = targets.compactMap { tails[$0] }
        let task = Task {
            for earlier in previous { await earlier.value }
            await self.run(job, cancellation: cancellation, work: work)
        }
        for target in targets { tails[target] = task }
        return job
    }

    private func run(_ queued: Job, cancellation: Cancellation, work: @escaping Work) async {
        var job = queued
        job.state = .running
        job.startedAt = Date()
        try? store.update(job)
        logger.info("job \(job.id): \(job.kind) \(job.environment) started")
        let id = job.id
        // Events in the order they happen, each recorded before the job is said to have ended.
        let (stream, input) = AsyncStream.makeStream(of: OperationEvent.self)
        let recorder = Task { for await event in stream { self.record(id, event) } }
        let events: Operations.Events = { input.yield($0) }
        do {
            let (outcome, succeeded) = try await work(cancellation, events)
            job.outcome = outcome
            job.state = cancellation.isCancelled ? .interrupted : succeeded ? .succeeded : .failed
        } catch {
            job.error = String(describing: error)
            job.state = .failed
        }
        input.finish()
        await recorder.value
        job.finishedAt = Date()
        try? store.update(job)
        metrics.jobFinished(job)
        logger.info("job \(job.id): \(job.kind) \(job.environment) \(job.state.rawValue)")
        finish(id)
        await onFinish(job)
    }

    private func record(_ id: String, _ event: OperationEvent) {
        let sequence = sequences[id, default: 0]
        sequences[id] = sequence + 1
        let record = JobEventRecord(jobID: id, sequence: sequence, at: Date(), event: JSON.string(event))
        do { try store.appendEvent(record) } catch { logger.error("job \(id): cannot record an event: \(error)") }
        for watcher in watchers[id, default: [:]].values { watcher.yield(record) }
    }

    private func finish(_ id: String) {
        for watcher in watchers[id, default: [:]].values { watcher.finish() }
        watchers[id] = nil
        sequences[id] = nil
        cancellations[id] = nil
    }

    /// The job's events: those recorded after `after`, then live ones until the job ends.
    func watch(_ id: String, after: Int) throws -> AsyncStream<JobEventRecord> {
        let (stream, continuation) = AsyncStream.makeStream(of: JobEventRecord.self)
        let past = try store.events(job: id, after: after)
        for record in past { continuation.yield(record) }
        guard cancellations[id] != nil else {
            continuation.finish()
            return stream
        }
        let key = UUID()
        watchers[id, default: [:]][key] = continuation
        continuation.onTermination = { _ in Task { await self.unwatch(id, key) } }
        return stream
    }

    private func unwatch(_ id: String, _ key: UUID) {
        watchers[id]?[key] = nil
    }

    var running: Int { cancellations.count }

    /// On shutdown: no new steps start in running jobs; they end as interrupted.
    func cancelAll() {
        for cancellation in cancellations.values { cancellation.cancel() }
    }
}
