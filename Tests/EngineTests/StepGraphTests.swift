import Engine
import Foundation
import Testing

/// The walker refuses graphs it could not finish, before any step runs.
@Suite struct StepGraphTests {
    final class Ran: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        var count: Int { lock.withLock { names.count } }
        var seen: [String] { lock.withLock { names } }
        func note(_ name: String) { lock.withLock { names.append(name) } }
    }

    @Test func anUnknownDependencyIsRefusedBeforeAnythingRuns() async {
        let ran = Ran()
        let vertices = [
            Vertex(id: step("a"), label: "a") { ran.note("ran") },
            Vertex(id: step("b"), label: "b", dependencies: [StepID(.network, .up, "nowhere")]) { ran.note("ran") },
        ]
        await #expect(throws: StepGraphError.unknownDependency(StepID(.network, .up, "nowhere"), of: step("b"))) {
            try await GraphWalker.walk(vertices, parallelism: 2)
        }
        #expect(ran.count == 0)
    }

    @Test func aCycleIsRefusedAndNamed() async throws {
        let vertices = [
            Vertex(id: step("a"), label: "a", dependencies: [step("c")]) {},
            Vertex(id: step("b"), label: "b", dependencies: [step("a")]) {},
            Vertex(id: step("c"), label: "c", dependencies: [step("b")]) {},
            Vertex(id: step("d"), label: "d") {},
        ]
        let error = try #require(throws: StepGraphError.self) { try GraphWalker.check(vertices) }
        guard case let .cycle(ids) = error else {
            Issue.record("expected a cycle, got \(error)")
            return
        }
        #expect(Set(ids) == [step("a"), step("b"), step("c")])
        #expect(error.description.contains("host-up:a"))
        // A step that depends on itself is the shortest cycle.
        #expect(throws: StepGraphError.cycle([step("e")])) { try GraphWalker.check([Vertex(id: step("e"), label: "e", dependencies: [step("e")]) {}]) }
    }

    @Test func twoStepsOfOneIDAreRefused() {
        #expect(throws: StepGraphError.duplicate(step("a"))) {
            try GraphWalker.check([Vertex(id: step("a"), label: "a") {}, Vertex(id: step("a"), label: "a again") {}])
        }
    }

    @Test func aDiamondIsAcceptedAndWalkedInOrder() async throws {
        let order = Ran()
        let note = { @Sendable (name: String) in order.note(name) }
        let vertices = [
            Vertex(id: step("top"), label: "top") { note("top") },
            Vertex(id: step("left"), label: "left", dependencies: [step("top")]) { note("left") },
            Vertex(id: step("right"), label: "right", dependencies: [step("top")]) { note("right") },
            Vertex(id: step("bottom"), label: "bottom", dependencies: [step("left"), step("right")]) { note("bottom") },
        ]
        let outcomes = try await GraphWalker.walk(vertices, parallelism: 4)
        #expect(outcomes.allSatisfy { if case .done = $0.result { true } else { false } })
        #expect(order.seen.first == "top")
        #expect(order.seen.last == "bottom")
        #expect(order.count == 4)
    }
}
