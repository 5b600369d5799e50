import Diagnostics
import Testing

@Suite struct DiagnosticTests {
    @Test func rendersInTheCompilersFormat() {
        let diagnostic = Diagnostic(Message(id: "x", "address 10.30.0.5 is outside network lan (10.10.0.0/22)"),
                                    at: SourceLocation(file: "topologies/acme.yaml", line: 14, column: 18))
        #expect(diagnostic.rendered == "topologies/acme.yaml:14:18: error: address 10.30.0.5 is outside network lan (10.10.0.0/22)")
        let warning = Diagnostic(Message(id: "w", severity: .warning, "careful"), at: SourceLocation(file: "f", line: 1, column: 2))
        #expect(warning.rendered == "f:1:2: warning: careful")
    }

    @Test func normalizedSortsByPositionAndDropsRepeats() {
        func at(_ line: Int, _ column: Int, _ text: String, file: String = "a.yaml") -> Diagnostic {
            Diagnostic(Message(id: "x", text), at: SourceLocation(file: file, line: line, column: column))
        }
        let list = [at(3, 1, "c"), at(1, 9, "b"), at(1, 2, "a"), at(1, 9, "b"), at(1, 1, "z", file: "0.yaml")]
        #expect(list.normalized().map(\.message) == ["z", "a", "b", "c"])
        #expect(list.errorCount == 5)
        #expect(list.hasErrors)
    }

    @Test func suggestionsFindTyposButNotStrangers() {
        #expect(Suggestion.closest(to: "cidrr", among: ["cidr", "egress"]) == "cidr")
        #expect(Suggestion.closest(to: "cdir", among: ["cidr", "egress"]) == "cidr")
        #expect(Suggestion.closest(to: "Hosts", among: ["hosts", "name"]) == "hosts")
        #expect(Suggestion.closest(to: "colour", among: ["network", "address", "mac", "model"]) == nil)
        #expect(Suggestion.hint(for: "gatway", among: ["gateway"]) == "; did you mean 'gateway'?")
        #expect(Suggestion.hint(for: "zzz", among: ["gateway"]) == "")
    }
}
