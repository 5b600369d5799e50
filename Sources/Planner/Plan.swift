import Hypervisor

/// What `apply` will do, decided before anything is done: `plan` prints it, `apply` carries it out.
public struct Plan: Sendable {
    public var environment: String
    public var actions: [PlannedAction]

    public init(environment: String, actions: [PlannedAction]) {
        self.environment = environment
        self.actions = actions
    }

    /// True when applying would change nothing.
    public var isEmpty: Bool { actions.allSatisfy { $0.kind == .keep } }

    public func count(_ kind: PlannedAction.Kind) -> Int { actions.filter { $0.kind == kind }.count }
}

public struct PlannedAction: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case create
        case replace
        case update
        case start
        case delete
        case keep
    }

    public enum Resource: String, Sendable, Codable {
        case pool
        case network
        case domain
        case volume
    }

    public var kind: Kind
    public var resource: Resource
    /// libvirt's name of the object.
    public var name: String
    public var reason: String
    /// Live edits, for a network `update`.
    public var changes: [NetworkChange]
    /// For domains: the libvirt networks the existing domain is attached to (torn down before them).
    public var attachedNetworks: [String]

    public init(_ kind: Kind, _ resource: Resource, _ name: String, reason: String,
                changes: [NetworkChange] = [], attachedNetworks: [String] = []) {
        self.kind = kind
        self.resource = resource
        self.name = name
        self.reason = reason
        self.changes = changes
        self.attachedNetworks = attachedNetworks
    }
}

/// Objects with the environment's names that DecoyNet did not make: it never touches them.
public struct ForeignObjectsError: Error, CustomStringConvertible, Sendable {
    public var objects: [String]

    public var description: String {
        "refusing to touch objects with this environment's names that DecoyNet did not create:\n"
            + objects.map { "  \($0)" }.joined(separator: "\n")
            + "\nrename or remove them, or choose another environment name"
    }
}
