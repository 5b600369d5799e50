import Engine
import Foundation
import Planner

/// Plans and outcomes as people and pipelines read them.
enum PlanOutput {
    static func symbol(_ kind: PlannedAction.Kind) -> String {
        switch kind {
        case .create: return "+"
        case .replace: return "-/+"
        case .update: return "~"
        case .start: return ">"
        case .delete: return "-"
        case .keep: return " "
        }
    }

    static func text(_ plan: Plan, uri: String, showKept: Bool = false) -> String {
        var lines = ["Plan for environment \(plan.environment) on \(uri):"]
        for action in plan.actions where showKept || action.kind != .keep {
            let reason = action.reason.isEmpty ? "" : "  (\(action.reason))"
            lines.append("  \(symbol(action.kind).padding(toLength: 3, withPad: " ", startingAt: 0)) \(action.kind.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(action.resource.rawValue) \(action.name)\(reason)")
        }
        if plan.isEmpty { lines.append("  no changes: the environment matches the topology") }
        lines.append("Plan: \(plan.count(.create)) to create, \(plan.count(.replace)) to replace, \(plan.count(.update)) to update, "
            + "\(plan.count(.start)) to start, \(plan.count(.delete)) to delete, \(plan.count(.keep)) unchanged.")
        return lines.joined(separator: "\n")
    }

    struct JSONAction: Encodable {
        var action: String
        var resource: String
        var name: String
        var reason: String
    }

    struct JSONPlan: Encodable {
        var environment: String
        var uri: String
        var changes: Bool
        var summary: [String: Int]
        var actions: [JSONAction]
    }

    static func json(_ plan: Plan, uri: String) -> JSONPlan {
        JSONPlan(environment: plan.environment, uri: uri, changes: !plan.isEmpty,
                 summary: Dictionary(uniqueKeysWithValues: PlannedAction.Kind.allCases.map { ($0.rawValue, plan.count($0)) }),
                 actions: plan.actions.map { JSONAction(action: $0.kind.rawValue, resource: $0.resource.rawValue, name: $0.name, reason: $0.reason) })
    }

    struct JSONOutcome: Encodable {
        var step: String
        var result: String
        var seconds: Double?
        var message: String?
    }

    static func json(_ outcomes: [VertexOutcome]) -> [JSONOutcome] {
        outcomes.map { outcome in
            switch outcome.result {
            case let .done(seconds): JSONOutcome(step: outcome.label, result: "done", seconds: (seconds * 1000).rounded() / 1000)
            case let .failed(message): JSONOutcome(step: outcome.label, result: "failed", message: message)
            case let .skipped(because): JSONOutcome(step: outcome.label, result: "skipped", message: "\(because) failed")
            case .notStarted: JSONOutcome(step: outcome.label, result: "not started")
            }
        }
    }

    /// One line per step that did not complete, with libvirt's message or why it was skipped.
    static func printFailures(_ failures: [VertexOutcome]) {
        for failure in failures {
            switch failure.result {
            case let .failed(message): Terminal.error("  \(failure.label): \(message)")
            case let .skipped(because): Terminal.error("  \(failure.label): skipped, because \(because) failed")
            case .notStarted: Terminal.error("  \(failure.label): not started (interrupted)")
            case .done: break
            }
        }
    }

    static func failures(_ outcomes: [VertexOutcome]) -> [VertexOutcome] {
        outcomes.filter { if case .done = $0.result { return false } else { return true } }
    }

    /// `showEnvironment` names each host by its domain, for reports over several environments.
    static func healthTable(_ hosts: [HostHealth], showEnvironment: Bool = false) -> String {
        Terminal.table([showEnvironment ? "DOMAIN" : "HOST", "STATE", "ADDRESSES", "HEALTH", "PROBES"], hosts.map { host in
            let probes = host.probes.map { $0.passed ? "\($0.probe) ok" : "\($0.probe) FAILED (\($0.detail))" }.joined(separator: ", ")
            return [showEnvironment ? host.domain : host.host, host.state, host.addresses.joined(separator: ","), host.healthy ? "healthy" : "unhealthy", probes]
        })
    }
}
