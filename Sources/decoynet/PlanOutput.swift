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

    /// One line per step that did not complete, with libvirt's message or why it was skipped.
    static func printFailures(_ failures: [StepReport]) {
        for failure in failures where !failure.completed {
            switch failure.result {
            case "failed": Terminal.error("  \(failure.step): \(failure.message ?? "")")
            case "skipped": Terminal.error("  \(failure.step): skipped, because \(failure.message ?? "a dependency failed")")
            default: Terminal.error("  \(failure.step): not started (interrupted)")
            }
        }
    }

    /// `showEnvironment` names each host by its domain, for reports over several environments.
    static func healthTable(_ hosts: [HostHealth], showEnvironment: Bool = false) -> String {
        Terminal.table([showEnvironment ? "DOMAIN" : "HOST", "STATE", "ADDRESSES", "HEALTH", "PROBES"], hosts.map { host in
            let probes = host.probes.map { $0.passed ? "\($0.probe) ok" : "\($0.probe) FAILED (\($0.detail))" }.joined(separator: ", ")
            return [showEnvironment ? host.domain : host.host, host.state, host.addresses.joined(separator: ","), host.healthy ? "healthy" : "unhealthy", probes]
        })
    }
}
