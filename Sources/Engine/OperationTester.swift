import Compiler
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
/// and name resolution) run inside their `from` hosts through the guest agent, then the detector
/// self-test of every stealthy host from its serial console (and, with `tells`, of every other
/// host through its agent).
public struct OperationTester: Sendable {
    public var hypervisor: any Hypervisor
    public var prober: any GuestProber

    public init(hypervisor: any Hypervisor, prober: any GuestProber) {
        self.hypervisor = hypervisor
        self.prober = prober
    }

    public func run(environment: String, wait: Bool, timeout: Double? = nil, tells: Bool = false) async throws -> [OperationResult] {
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
        let detected = await withTaskGroup(of: (Int, [OperationResult]).self) { group in
            for (index, (domain, metadata)) in domains.enumerated() where metadata.stealth || tells {
                group.addTask { (index, await detectorSelfTest(domain: domain, metadata: metadata, exec: exec)) }
            }
            var done: [(Int, [OperationResult])] = []
            for await result in group { done.append(result) }
            return done.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
        return results + detected
    }

    /// How long the detector's checks may take in one host, from its console or through its agent.
    static let selfTestSeconds: Double = 180

    /// The checks malware makes to tell a virtual machine, run inside a running host: from its serial
    /// console, as root, when it is stealthy; through its agent otherwise. A check that finds a tell
    /// fails with its evidence.
    func detectorSelfTest(domain: String, metadata: DomainMetadata, exec: GuestExec) async -> [OperationResult] {
        guard (try? await hypervisor.domainState(name: domain)) == .running else {
            return [OperationResult(kind: "stealth", host: metadata.host, test: "detector self-test", passed: false, detail: "not running")]
        }
        let output: String
        do {
            if metadata.stealth {
                let shell = SerialShell(uri: hypervisor.uri, domain: domain, user: ConsoleLogin.user,
                                        password: ConsoleLogin.password(environment: metadata.environment, host: metadata.host, key: try ConsoleKey.machine()))
                output = try await shell.run(script: VirtualMachineTells.script, timeout: Self.selfTestSeconds)
            } else {
                // As long as from a console: on a loaded machine (four self-tests at once on two
                // cores under emulation) the checks took over a minute. The agent hands the output
                // over only once the script has ended.
                let result = try await exec.run(domain: domain, arguments: ["bash", "-c", VirtualMachineTells.script], timeout: Self.selfTestSeconds)
                guard !result.timedOut else {
                    return [OperationResult(kind: "stealth", host: metadata.host, test: "detector self-test", passed: false,
                                            detail: "the checks did not end within \(Int(Self.selfTestSeconds)) s (the guest agent gives their output only when they end)")]
                }
                output = result.stdout
            }
        } catch {
            return [OperationResult(kind: "stealth", host: metadata.host, test: "detector self-test", passed: false, detail: "cannot run: \(error)")]
        }
        return VirtualMachineTells.verdicts(output).map { verdict in
            OperationResult(kind: "stealth", host: metadata.host, test: verdict.check, passed: verdict.evidence == nil,
                            detail: verdict.evidence ?? "answers like hardware")
        }
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
