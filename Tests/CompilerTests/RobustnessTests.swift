import Compiler
import Foundation
import Testing
import Topology

/// Mangled versions of real topologies must come back as diagnostics, never as a crash or a hang.
@Suite struct RobustnessTests {
    static let fragments = [":", "- ", "{", "}", "[", "]", "\n", "  ", "&a ", "*a", "!!int ", "? ", "\"", "'", "#", "0", "99999999999999999999",
                            "10.10.0.0/22", "ws", "count: 0", "template: tiny", "network: lan", "\t", "é", "\u{0}"]

    static func mutate(_ lines: [String], using random: inout SplitMix64) -> String {
        var lines = lines
        for _ in 0 ..< Int.random(in: 1 ... 4, using: &random) {
            let index = Int.random(in: 0 ..< lines.count, using: &random)
            switch Int.random(in: 0 ..< 6, using: &random) {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[Int.random(in: 0 ..< lines.count, using: &random)], at: index)
            case 2: lines.swapAt(index, Int.random(in: 0 ..< lines.count, using: &random))
            case 3:
                var scalars = Array(lines[index].unicodeScalars)
                let at = Int.random(in: 0 ... scalars.count, using: &random)
                scalars.insert(contentsOf: fragments.randomElement(using: &random)!.unicodeScalars, at: at)
                lines[index] = String(String.UnicodeScalarView(scalars))
            case 4:
                var scalars = Array(lines[index].unicodeScalars)
                if !scalars.isEmpty { scalars.remove(at: Int.random(in: 0 ..< scalars.count, using: &random)) }
                lines[index] = String(String.UnicodeScalarView(scalars))
            default:
                lines[index] = String(lines[index].reversed())
            }
            if lines.isEmpty { lines = [""] }
        }
        return lines.joined(separator: "\n")
    }

    @Test(arguments: ["quickstart.yaml", "enterprise.yaml", "classroom.yaml"])
    func mutatedTopologiesGiveDiagnosticsNotCrashes(_ name: String) throws {
        let original = try String(contentsOfFile: projectRoot + "/topologies/" + name, encoding: .utf8)
        let lines = original.components(separatedBy: "\n")
        let workspace = Workspace()
        defer { workspace.remove() }
        var random = SplitMix64(seed: 0xDEC0_7E7 &+ UInt64(name.count))
        var invalid = 0
        for round in 0 ..< 300 {
            let text = Self.mutate(lines, using: &random)
            let path = workspace.write("m\(round).yaml", text)
            let result = Compiler.lower(path: path, projectTemplates: projectTemplates)
            if result.diagnostics.hasErrors {
                invalid += 1
                #expect(result.environment == nil)
                #expect(result.diagnostics.allSatisfy { $0.location.line >= 1 && $0.location.column >= 1 })
            } else {
                let environment = try #require(result.environment)
                _ = DocumentRenderer.render(environment, acceleration: .qemu)
            }
        }
        #expect(invalid > 100, "the mutations should break most files")
    }
}
