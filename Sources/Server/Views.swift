import Compiler
import Engine
import Foundation

/// Any JSON value: a job's outcome is kept as text and given back as the object it is.
indirect enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}

struct UserView: Codable, Sendable {
    var id: Int64
    var name: String
    var role: Role

    init(_ user: User) {
        id = user.id ?? -1
        name = user.name
        role = user.role
    }
}

struct JobView: Codable, Sendable {
    var id: String
    var kind: String
    var environment: String
    var targets: [String]
    var state: JobState
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var seconds: Double?
    var outcome: JSONValue?
    var error: String?

    init(_ job: Job) {
        id = job.id
        kind = job.kind
        environment = job.environment
        targets = job.targets.split(separator: " ").map(String.init)
        state = job.state
        createdAt = job.createdAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        if let started = job.startedAt { seconds = ((job.finishedAt ?? Date()).timeIntervalSince(started) * 10).rounded() / 10 }
        outcome = job.outcome.flatMap { try? JSON.decode(JSONValue.self, from: Array($0.utf8)) }
        error = job.error
    }
}

struct EventView: Codable, Sendable {
    var sequence: Int
    var at: Date
    var event: OperationEvent

    init?(_ record: JobEventRecord) {
        guard let event = try? JSON.decode(OperationEvent.self, from: Array(record.event.utf8)) else { return nil }
        sequence = record.sequence
        at = record.at
        self.event = event
    }
}

/// A host as the API and pages show it: what the topology says, and what was last seen.
struct HostView: Codable, Sendable {
    var name: String
    var domain: String
    var template: String?
    var networks: [String]
    var addresses: [String]
    var services: [String]
    var owner: String?
    /// running, shutoff, ... or "absent" when the environment is not deployed.
    var state: String
    var health: String
    var probes: [ProbeResult]
}

struct NetworkView: Codable, Sendable {
    var name: String
    var cidr: String
    var gateway: String?
    var active: Bool
}

struct CheckView: Codable, Sendable {
    var label: String
}

struct EnvironmentView: Codable, Sendable {
    var name: String
    var description: String?
    var copyOf: String?
    var student: String?
    var deployed: Bool
    var hosts: Int
    var healthy: Int
    var unhealthy: Int
    var absent: Int
    var checkedAt: Date?
    var copies: [String]
}

struct EnvironmentDetail: Codable, Sendable {
    var environment: EnvironmentView
    var networks: [NetworkView]
    var hostList: [HostView]
    var checks: [CheckView]
    var jobs: [JobView]

    enum CodingKeys: String, CodingKey {
        case environment, networks, hostList = "hosts", checks, jobs
    }
}

enum ViewBuilder {
    /// The environment's hosts from its topology, with the latest health seen (absent when not deployed).
    static func hosts(_ resolved: ResolvedEnvironment?, status: [Operations.StatusReport]?) -> [HostView] {
        let health = Dictionary((status ?? []).flatMap(\.health).map { ($0.host, $0) }, uniquingKeysWith: { first, _ in first })
        guard let resolved else {
            return (status ?? []).flatMap(\.health).map { host in
                HostView(name: host.host, domain: host.domain, networks: [], addresses: host.addresses, services: [], state: host.state,
                         health: host.healthy ? "healthy" : "unhealthy", probes: host.probes)
            }
        }
        return resolved.hosts.map { host in
            let seen = health[host.name]
            return HostView(name: host.name, domain: host.libvirtName, template: host.template, networks: host.interfaces.map(\.network),
                            addresses: host.interfaces.map { $0.address.description }, services: host.services.map(\.name),
                            owner: host.owner?.name, state: seen?.state ?? "absent",
                            health: seen.map { $0.healthy ? "healthy" : "unhealthy" } ?? "absent",
                            probes: seen?.probes ?? host.probes.map { ProbeResult(probe: $0.description, passed: false, detail: "not deployed") })
        }
    }

    static func summary(_ record: EnvironmentRecord, description: String?, status: (reports: [Operations.StatusReport], at: Date)?,
                        hosts: [HostView], student: String?, copies: [String]) -> EnvironmentView {
        let deployed = status?.reports.contains { !$0.status.domains.isEmpty || !$0.status.networks.isEmpty } ?? false
        return EnvironmentView(name: record.name, description: description, copyOf: record.copyOf, student: student,
                               deployed: deployed, hosts: hosts.count,
                               healthy: hosts.filter { $0.health == "healthy" }.count, unhealthy: hosts.filter { $0.health == "unhealthy" }.count,
                               absent: hosts.filter { $0.health == "absent" }.count, checkedAt: status?.at, copies: copies)
    }
}
