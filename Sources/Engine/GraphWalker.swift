import Foundation

/// Which step: what it changes (a pool, network, domain, volume, capture or host), how, and the
/// object's name. Typed, so that a dependency cannot be misspelt into a string that matches nothing.
public struct StepID: Hashable, Sendable, CustomStringConvertible {
    public enum Object: String, Sendable { case pool, network, domain, volume, capture, host }
    public enum Change: String, Sendable { case up, down, reset }

    public var object: Object
    public var change: Change
    public var name: String

    public init(_ object: Object, _ change: Change, _ name: String) {
        self.object = object
        self.change = change
        self.name = name
    }

    public var description: String { "\(object.rawValue)-\(change.rawValue):\(name)" }
}

/// One unit of work in a dependency graph.
public struct Vertex: Sendable {
    public var id: StepID
    /// What it does, as a user reads it: `create domain acme-ws-01`.
    public var label: String
    public var dependencies: [StepID]
    public var work: @Sendable () async throws -> Void

    public init(id: StepID, label: String, dependencies: [StepID] = [], work: @escaping @Sendable () async throws -> Void) {
        self.id = id
        self.label = label
        self.dependencies = dependencies
        self.work = work
    }
}

public enum VertexResult: Sendable, Equatable {
    case done(seconds: Double)
    case failed(message: String)
    /// A dependency failed; its own error is not repeated here.
    case skipped(because: String)
    /// Never started: the walk was interrupted first.
    case notStarted
}

public struct VertexOutcome: Sendable {
    public var id: StepID
    public var label: String
    public var result: VertexResult
}

public enum WalkEvent: Sendable {
    /// The vertex's work began running (not merely scheduled).
    case began(id: StepID, label: String)
    case finished(id: StepID, label: String, result: VertexResult)
}

/// Stops a walk from starting more work; what runs is allowed to finish.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}

/// A step graph that cannot be walked: found before any step runs.
public enum StepGraphError: Error, CustomStringConvertible, Equatable {
    case duplicate(StepID)
    case unknownDependency(StepID, of: StepID)
    /// The steps of one cycle, in order.
    case cycle([StepID])

    public var description: String {
        switch self {
        case let .duplicate(id): "step graph: two steps are \(id)"
        case let .unknownDependency(dependency, of: id): "step graph: \(id) depends on \(dependency), which is not a step"
        case let .cycle(ids): "step graph: a cycle: \(ids.map(\.description).joined(separator: " -> ")) -> \(ids[0])"
        }
    }
}

/// Runs a dependency graph with bounded parallelism, the way Terraform's walker does: each vertex
/// starts when its dependencies are done; when one fails, its dependents are skipped and every
/// independent vertex still runs.
public enum GraphWalker {
    /// Refuses, before anything runs, a graph with two steps of one id, a dependency on a step that
    /// is not in it, or a cycle (which would wait forever).
    public static func check(_ vertices: [Vertex]) throws {
        var byID: [StepID: Vertex] = [:]
        for vertex in vertices {
            guard byID.updateValue(vertex, forKey: vertex.id) == nil else { throw StepGraphError.duplicate(vertex.id) }
        }
        for vertex in vertices {
            if let unknown = vertex.dependencies.first(where: { byID[$0] == nil }) { throw StepGraphError.unknownDependency(unknown, of: vertex.id) }
        }
        // Depth-first, iteratively: 1 on the current path, 2 finished.
        var mark: [StepID: Int] = [:]
        for root in vertices where mark[root.id] == nil {
            var path: [(id: StepID, next: Int)] = [(root.id, 0)]
            mark[root.id] = 1
            while let (id, next) = path.last {
                let dependencies = byID[id]!.dependencies
                if next == dependencies.count {
                    mark[id] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let dependency = dependencies[next]
                switch mark[dependency] {
                case 1?:
                    let start = path.firstIndex { $0.id == dependency }!
                    throw StepGraphError.cycle(path[start...].map(\.id))
                case nil:
                    mark[dependency] = 1
                    path.append((dependency, 0))
                default: break
                }
            }
        }
    }

    public static func walk(_ vertices: [Vertex], parallelism: Int, cancellation: Cancellation = Cancellation(),
                            onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async throws -> [VertexOutcome] {
        try check(vertices)
        let byID = Dictionary(vertices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var waitingOn: [StepID: Int] = [:]
        var dependents: [StepID: [StepID]] = [:]
        for vertex in vertices {
            let known = Set(vertex.dependencies)
            waitingOn[vertex.id] = known.count
            for dependency in known { dependents[dependency, default: []].append(vertex.id) }
        }
        var results: [StepID: VertexResult] = [:]
        var ready = vertices.filter { waitingOn[$0.id] == 0 }.map(\.id)
        let limit = max(1, parallelism)

        func skip(dependentsOf id: StepID, because label: String) {
            for dependent in dependents[id] ?? [] where results[dependent] == nil {
                results[dependent] = .skipped(because: label)
                onEvent(.finished(id: dependent, label: byID[dependent]!.label, result: .skipped(because: label)))
                skip(dependentsOf: dependent, because: label)
            }
        }

        await withTaskGroup(of: (StepID, VertexResult).self) { group in
            var running = 0
            func launch() {
                while running < limit, !ready.isEmpty, !cancellation.isCancelled {
                    let vertex = byID[ready.removeFirst()]!
                    running += 1
                    group.addTask {
                        onEvent(.began(id: vertex.id, label: vertex.label))
                        let start = Date()
                        do {
                            try await vertex.work()
                            return (vertex.id, .done(seconds: Date().timeIntervalSince(start)))
                        } catch {
                            return (vertex.id, .failed(message: String(describing: error)))
                        }
                    }
                }
            }
            launch()
            while let (id, result) = await group.next() {
                running -= 1
                results[id] = result
                onEvent(.finished(id: id, label: byID[id]!.label, result: result))
                if case .done = result {
                    for dependent in dependents[id] ?? [] {
                        waitingOn[dependent]! -= 1
                        if waitingOn[dependent] == 0, results[dependent] == nil { ready.append(dependent) }
                    }
                } else {
                    skip(dependentsOf: id, because: byID[id]!.label)
                }
                launch()
            }
        }
        return vertices.map { vertex in
            VertexOutcome(id: vertex.id, label: vertex.label, result: results[vertex.id] ?? .notStarted)
        }
    }
}
