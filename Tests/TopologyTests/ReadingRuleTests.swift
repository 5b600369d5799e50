import Diagnostics
import Foundation
import Testing
@testable import Topology

/// Rules about reading the file at all: YAML syntax, encodings, repeated keys, sizes.
@Suite struct ReadingRuleTests {
    @Test func malformedYAMLIsReportedAtItsPosition() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24
        hosts1️⃣: {}
        """, ["1": ("yaml-syntax", "invalid YAML: did not find expected ',' or '}' while parsing a flow mapping")])
    }

    @Test func emptyFileNeedsTheRequiredKeys() {
        expectDiagnostics("1️⃣", ["1": ("empty-file", "file is empty; a topology needs 'name', 'networks' and 'hosts'")])
    }

    @Test func binaryJunkIsNotUTF8() {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = scratch.directory + "/junk.yaml"
        try! Data([0x6E, 0x61, 0x0A, 0x20, 0xFF, 0xFE, 0x00, 0x01]).write(to: URL(fileURLWithPath: path))
        let result = TopologyLoader.load(path: path, projectTemplates: nil)
        #expect(result.diagnostics.map(\.rendered) == ["\(path):2:2: error: file is not UTF-8 text (byte 0xff)"])
    }

    @Test func controlCharactersAreSyntaxErrors() {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = scratch.write("nul.yaml", "name: a\u{0}b\n")
        let result = TopologyLoader.load(path: path, projectTemplates: nil)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first?.id == "yaml-syntax")
        #expect(result.diagnostics.first?.location.line == 1)
    }

    @Test func hugeFileIsRefusedWithoutReadingIt() throws {
        let scratch = Scratch()
        defer { scratch.remove() }
        let path = scratch.write("huge.yaml", "name: acme\n")
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(YAMLLoader.maximumFileSize) + 1)
        try handle.close()
        let result = TopologyLoader.load(path: path, projectTemplates: nil)
        #expect(result.diagnostics.map(\.rendered) == ["\(path):1:1: error: file is larger than 64 MiB; a topology is expected to be far smaller"])
    }

    @Test func missingFileIsReported() {
        let result = TopologyLoader.load(path: "/nonexistent/topology.yaml", projectTemplates: nil)
        #expect(result.diagnostics.map(\.rendered) == ["/nonexistent/topology.yaml:1:1: error: cannot read the file: it does not exist"])
    }

    @Test func repeatedKeyIsReportedAtTheSecondOccurrence() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a:
            image: { kernel: /k, initrd: /i }
            vcpus: 1
            1️⃣vcpus: 2
            interfaces: [{ network: lan }]
        """, ["1": ("duplicate-key", "key 'vcpus' is given twice; the first is at line 7")])
    }

    @Test func everyRepeatAndEveryOtherProblemIsReportedInOneRun() {
        expectDiagnostics("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/24, 1️⃣cidr: 10.20.0.0/24 }
          2️⃣lan: { cidr: 10.30.0.0/24 }
        hosts:
          a:
            image: { kernel: /k, initrd: /i }
            3️⃣vcpuz: 2
            interfaces: [{ network: lan }]
        4️⃣name: other
        5️⃣name: third
        """, [
            "1": ("duplicate-key", "key 'cidr' is given twice; the first is at line 3"),
            "2": ("duplicate-key", "key 'lan' is given twice; the first is at line 3"),
            "3": ("unknown-key", "unknown key 'vcpuz' in host a; did you mean 'vcpus'?"),
            "4": ("duplicate-key", "key 'name' is given twice; the first is at line 1"),
            "5": ("duplicate-key", "key 'name' is given twice; the first is at line 1"),
        ])
    }

    @Test func quotedRepeatedKeysAreFound() {
        expectDiagnostics("""
        name: acme
        "networks":
          lan: { cidr: 10.10.0.0/24 }
        1️⃣'networks':
          dmz: { cidr: 10.20.0.0/24 }
        hosts:
          a: { image: { kernel: /k, initrd: /i }, interfaces: [{ network: lan }] }
        """, ["1": ("duplicate-key", "key 'networks' is given twice; the first is at line 2")])
    }

    @Test func aliasBombIsRefusedWithoutHanging() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1 ... 9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let result = YAMLLoader.load(text: text, file: "bomb.yaml")
        #expect(result.root == nil)
        #expect(result.diagnostics.map(\.id) == ["too-many-nodes"])
    }

    @Test func deepNestingIsASyntaxErrorNotACrash() {
        let text = "name: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n"
        let result = YAMLLoader.load(text: text, file: "deep.yaml")
        #expect(result.root == nil)
        #expect(result.diagnostics.map(\.id) == ["yaml-syntax"])
    }

    @Test func hugeNumbersAreOutOfRange() {
        expectDiagnostics(validBase + """

        hosts:
          a:
            image: tiny
            vcpus: 1️⃣99999999999999999999999999
            memory: 2️⃣99999999999999999999999GiB
            interfaces: [{ network: lan }]
        """, [
            "1": ("out-of-range", "'vcpus' must be 1 to 64, found 99999999999999999999999999"),
            "2": ("out-of-range", "memory size must be below 16 TiB, found 99999999999999999999999GiB"),
        ])
    }

    @Test func marksAreOneBasedInUnicodeScalars() {
        let result = YAMLLoader.load(text: "name: é\nkey: [a, 1️⃣b]\n".replacingOccurrences(of: "1️⃣", with: ""), file: "f.yaml")
        guard case let .mapping(pairs)? = result.root?.kind, case let .sequence(items) = pairs[1].value.kind else {
            Issue.record("unexpected shape")
            return
        }
        #expect(items[1].location == Diagnostics.SourceLocation(file: "f.yaml", line: 2, column: 10))
    }
}
