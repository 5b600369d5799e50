import Foundation
import Testing

/// What happens to an operation when the world changes under it: libvirtd restarted, other
/// commands at the same time.
extension EndToEnd {
@Suite struct FaultTests {
    /// libvirtd restarted in the middle of apply, reset and destroy: each command either finishes or
    /// fails saying libvirtd went away (never killed by SIGPIPE, exit 141), and the next run converges.
    @Test func libvirtdRestartedMidOperationFailsClearlyAndTheNextRunConverges() throws {
        let environment = "e2e-fault"
        let file = try Lab.topology("quickstart.yaml", as: environment)
        defer { _ = try? Lab.decoynet(["destroy", environment]) }
        let interfacesBefore = try Lab.interfaces()

        let apply = try Lab.startDecoynet(["apply", file])
        Thread.sleep(forTimeInterval: 2)
        try Lab.restartLibvirtd()
        expectClearEnd(try apply.wait(), "apply")
        let again = try Lab.decoynet(["apply", file, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        let health = (try? Lab.json(again.stdout) as? [String: Any])?["health"] as? [[String: Any]] ?? []
        #expect(health.count == 3 && health.allSatisfy { ($0["probes"] as? [[String: Any]])?.allSatisfy { $0["passed"] as? Bool == true } == true }, "\(again.stdout)")

        let reset = try Lab.startDecoynet(["reset", environment, "ws"])
        Thread.sleep(forTimeInterval: 0.5)
        try Lab.restartLibvirtd()
        expectClearEnd(try reset.wait(), "reset")
        let afterReset = try Lab.decoynet(["apply", file])
        #expect(afterReset.status == 0, "\(afterReset.stderr)")
        #expect(try Lab.httpGet(Lab.address("1.2")).contains("ws"))

        let destroy = try Lab.startDecoynet(["destroy", environment])
        Thread.sleep(forTimeInterval: 0.3)
        try Lab.restartLibvirtd()
        expectClearEnd(try destroy.wait(), "destroy")
        let destroyed = try Lab.decoynet(["destroy", environment])
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        #expect(try Lab.leftovers(environment) == [])
        #expect(try Lab.interfaces() == interfacesBefore, "no bridge or tap left behind")
    }

    /// Two environments applied at once are both fine; a second apply of the same one waits for
    /// the first and then has nothing to do.
    @Test func concurrentAppliesOfTwoEnvironmentsAndOfOne() throws {
        let first = try Lab.topology("quickstart.yaml", as: "e2e-one")
        let second = try Lab.topology("quickstart.yaml", as: "e2e-two") { $0.replacingOccurrences(of: "10.\(Lab.octet).", with: "10.\(Lab.octet + 20).") }
        defer {
            _ = try? Lab.decoynet(["destroy", "e2e-one"])
            _ = try? Lab.decoynet(["destroy", "e2e-two"])
        }
        let interfacesBefore = try Lab.interfaces()
        let one = try Lab.startDecoynet(["apply", first])
        let two = try Lab.startDecoynet(["apply", second])
        Thread.sleep(forTimeInterval: 1)
        let oneAgain = try Lab.startDecoynet(["apply", first, "--json"])
        let results = try [one.wait(), two.wait(), oneAgain.wait()]
        #expect(results.map(\.status) == [0, 0, 0], "\(results.map(\.stderr))")
        #expect(results[2].stderr.contains("waiting for"), "the second apply of e2e-one waited: \(results[2].stderr)")
        let steps = (try? Lab.json(results[2].stdout) as? [String: Any])?["steps"] as? [[String: Any]]
        #expect(steps?.isEmpty == true, "after waiting there was nothing left to do: \(results[2].stdout)")
        #expect(try Lab.httpGet(Lab.address("1.2")).contains("ws"))
        #expect(try Lab.httpGet("10.\(Lab.octet + 20).1.2").contains("ws"))
        #expect(try Lab.decoynet(["destroy", "e2e-one"]).status == 0)
        #expect(try Lab.decoynet(["destroy", "e2e-two"]).status == 0)
        #expect(try Lab.leftovers("e2e-one") + Lab.leftovers("e2e-two") == [])
        #expect(try Lab.interfaces() == interfacesBefore)
    }

    private func expectClearEnd(_ output: Lab.Output, _ verb: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(output.status == 0 || output.status == 1, "\(verb) ended with status \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
        if output.status == 1 {
            #expect(output.stderr.contains("libvirtd stopped or restarted"), "\(verb): \(output.stderr)", sourceLocation: sourceLocation)
        }
    }
}
}
