import Foundation
import Prometheus

/// What `/metrics` tells Prometheus: environments, hosts by state, jobs and their durations.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let environments: Gauge
    private let running: Gauge

    init() {
        environments = registry.makeGauge(name: "decoynet_environments", help: "Environments the server manages, copies included.")
        running = registry.makeGauge(name: "decoynet_jobs_running", help: "Jobs running now.")
    }

    func jobStarted() { running.increment() }

    func jobFinished(_ job: Job) {
        running.decrement()
        registry.makeCounter(name: "decoynet_jobs_total", labels: [("kind", job.kind), ("state", job.state.rawValue)],
                             help: "Jobs that ended, by kind and state.").increment()
        if let started = job.startedAt, let finished = job.finishedAt {
            registry.makeDurationHistogram(name: "decoynet_job_duration_seconds", labels: [("kind", job.kind)],
                                           buckets: [.seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600)],
                                           help: "How long jobs took, by kind.")
                .recordNanoseconds(Int64(finished.timeIntervalSince(started) * 1_000_000_000))
        }
    }

    /// Hosts by state, from the latest health of every environment.
    func observe(environments count: Int, hosts: [String: Int]) {
        environments.set(to: Double(count))
        for state in ["healthy", "unhealthy", "stopped", "unknown"] {
            registry.makeGauge(name: "decoynet_hosts", labels: [("state", state)], help: "Hosts of the managed environments by state.")
                .set(to: Double(hosts[state] ?? 0))
        }
    }

    func text() -> String { registry.emitToString() }
}
