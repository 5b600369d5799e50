import Foundation

/// One unit of work in a dependency graph.
public struct Vertex: Sendable {
    public var id: String
    /// What it does, as a user reads it: `create domain acme-ws-01`.
    public var label: String
    public var dependencies: [String]
    public var work: @Sendable () async throws -> Void

    public init(id: String, label: String, dependencies: [String] = [], work: @escaping @Sendable () async throws -> Void) {
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
    public var id: String
    public var label: String
    public var result: VertexResult
}

public enum WalkEvent: Sendable {
    /// The vertex's work began running (not merely scheduled).
    case began(id: String, label: String)
    case finished(id: String, label: String, result: VertexResult)
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

/// Runs a dependency graph with bounded parallelism, the way Terraform's walker does: each vertex
/// starts when its dependencies are done; when one fails, its dependents are skipped and every
/// independent vertex still runs.
public enum GraphWalker {
    public static func walk(_ vertices: [Vertex], parallelism: Int, cancellation: Cancellation = Cancellation(),
                            onEvent: @escaping @Sendable (WalkEvent) -> Void = { _ in }) async -> [VertexOutcome] {
        let byID = Dictionary(vertices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var waitingOn: [String: Int] = [:]
        var dependents: [String: [String]] = [:]
        for vertex in vertices {
            let known = Set(vertex.dependencies.filter { byID[$0] != nil && $0 != vertex.id })
            waitingOn[vertex.id] = known.count
            for dependency in known { dependents[dependency, default: []].append(vertex.id) }
        }
        var results: [String: VertexResult] = [:]
        var ready = vertices.filter { waitingOn[$0.id] == 0 }.map(\.id)
        let limit = max(1, parallelism)

        func skip(dependentsOf id: String, because label: String) {
            for dependent in dependents[id] ?? [] where results[dependent] == nil {
                results[dependent] = .skipped(because: label)
                onEvent(.finished(id: dependent, label: byID[dependent]!.label, result: .skipped(because: label)))
                skip(dependentsOf: dependent, because: label)
            }
        }

        await withTaskGroup(of: (String, VertexResult).self) { group in
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
