import Foundation
import Hypervisor
import LibvirtXML

/// One operation test's verdict: a probe of a host, or a check run from inside one.
public struct OperationResult: Sendable, Codable, Equatable {
    /// `probe` or `check`.
    public var kind: String
    public var host: String
    public var test: String
    public var passed: Bool
    public var detail: String
}

/// STARDUST's operation tests: every host's probes, then the topology's checks (reachability
/// and name resolution) run inside their `from` hosts through the guest agent.
public struct OperationTester: Sendable {
    public var hypervisor: any Hypervisor
    public var prober: any GuestProber

    public init(hypervisor: any Hypervisor, prober: any GuestProber) {
        self.hypervisor = hypervisor
        self.prober = prober
    }

    public func run(environment: String, wait: Bool, timeout: Double? = nil) async throws -> [OperationResult] {
        let health = try await HealthChecker(hypervisor: hypervisor, prober: prober).check(environment: environment, wait: wait, timeout: timeout)
        var results = health.flatMap { host in
            host.probes.map { OperationResult(kind: "probe", host: host.host, test: $0.probe, passed: $0.passed, detail: $0.detail) }
        }
        let domains = try await hypervisor.domains().compactMap { domain -> (String, DomainMetadata)? in
            guard let metadata = domain.metadata.flatMap(DomainMetadata.init(xml:)), metadata.environment == environment else { return nil }
            return (domain.name, metadata)
        }
        let exec = GuestExec(hypervisor: hypervisor)
        let checks = await withTaskGroup(of: (Int, OperationResult).self) { group in
            var index = 0
            for (domain, metadata) in domains {
                for check in metadata.checks {
                    let position = index
                    index += 1
                    group.addTask { (position, await Self.run(check, from: metadata.host, domain: domain, exec: exec)) }
                }
            }
            var done: [(Int, OperationResult)] = []
            for await result in group { done.append(result) }
            return done.sorted { $0.0 < $1.0 }.map(\.1)
        }
        results += checks
        return results
    }

    /// The shell line a check runs in the guest, and how its exit status reads.
    static func command(_ check: DomainMetadataCheck) -> String? {
        if let address = check.address, let port = check.port {
            // Exit 0: connected. Refused (1) and filtered (124, the timeout) both read as closed.
            return "timeout 3 bash -c '</dev/tcp/\(address)/\(port)' 2>/dev/null"
        }
        if let name = check.name, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) {
            return "getent ahostsv4 \(name) | awk 'NR==1 { print $1 }'"
        }
        return nil
    }

    static func label(_ check: DomainMetadataCheck) -> String {
        if let to = check.to, let port = check.port { return "\(to):\(port) \(check.expect)" }
        return "resolve \(check.name ?? "") = \(check.expect)"
    }

    static func run(_ check: DomainMetadataCheck, from host: String, domain: String, exec: GuestExec) async -> OperationResult {
        var result = OperationResult(kind: "check", host: host, test: label(check), passed: false, detail: "")
        guard let command = command(check) else {
            result.detail = "cannot run this check"
            return result
        }
        do {
            let outcome = try await exec.run(domain: domain, arguments: ["/bin/sh", "-c", command], timeout: 15)
            if check.port != nil {
                let open = outcome.exitCode == 0
                result.passed = (check.expect == "open") == open
                result.detail = open ? "open" : (outcome.exitCode == 124 ? "closed (no answer)" : "closed (refused)")
            } else {
                let address = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                result.passed = address == check.expect
                result.detail = address.isEmpty ? "does not resolve" : "resolves to \(address)"
            }
        } catch {
            result.detail = "cannot run inside \(host): \(error) (does its image run the QEMU guest agent?)"
        }
        return result
    }
}
