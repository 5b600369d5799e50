import Diagnostics
import Foundation
import Testing
@testable import Topology

/// A topology written in a test with markers (`1️⃣`) where diagnostics are expected, as
/// swift-syntax's tests do: the markers are removed and their line and column remembered.
struct MarkedSource {
    var text: String
    var markers: [String: (line: Int, column: Int)] = [:]

    init(_ source: String) {
        var output = String.UnicodeScalarView()
        let scalars = Array(source.unicodeScalars)
        var line = 1
        var column = 1
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if index + 2 < scalars.count, ("1" ... "9").contains(scalar), scalars[index + 1] == "\u{FE0F}", scalars[index + 2] == "\u{20E3}" {
                markers[String(scalar)] = (line, column)
                index += 3
                continue
            }
            output.append(scalar)
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index += 1
        }
        text = String(output)
    }
}

/// A scratch folder holding a topology and, optionally, template files beside it.
struct Scratch {
    let directory: String

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-test-" + UUID().uuidString).path
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    @discardableResult
    func write(_ relativePath: String, _ contents: String) -> String {
        let path = directory + "/" + relativePath
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Loads a marked topology (and marked template files) and returns its diagnostics with the markers.
func load(_ source: String, templates: [String: String] = [:], extraFiles: [String: String] = [:], symlinks: [String: String] = [:])
    -> (diagnostics: [Diagnostic], markers: [String: (line: Int, column: Int)], files: [String: String]) {
    let scratch = Scratch()
    defer { scratch.remove() }
    let marked = MarkedSource(source)
    var markers = marked.markers
    var files: [String: String] = [:]
    let path = scratch.write("topology.yaml", marked.text)
    for (name, template) in templates {
        let markedTemplate = MarkedSource(template)
        let templatePath = scratch.write("templates/" + name, markedTemplate.text)
        for (key, value) in markedTemplate.markers {
            markers[key] = value
            files[key] = templatePath
        }
    }
    for (name, contents) in extraFiles { scratch.write(name, contents) }
    for (name, target) in symlinks { try? FileManager.default.createSymbolicLink(atPath: scratch.directory + "/" + name, withDestinationPath: target) }
    for key in marked.markers.keys { files[key] = path }
    let result = TopologyLoader.load(path: path, projectTemplates: nil)
    return (result.diagnostics.map { diagnostic in
        var diagnostic = diagnostic
        diagnostic.location.file = diagnostic.location.file.replacingOccurrences(of: scratch.directory + "/", with: "")
        diagnostic.message = diagnostic.message.replacingOccurrences(of: scratch.directory + "/", with: "")
            .replacingOccurrences(of: scratch.directory, with: "<dir>")
        return diagnostic
    }, markers, files)
}

/// Expects exactly one diagnostic at each marker, with the given id and message, and no other error.
func expectDiagnostics(_ source: String, templates: [String: String] = [:], extraFiles: [String: String] = [:], symlinks: [String: String] = [:],
                       _ expected: [String: (id: String, message: String)], allowWarnings: Bool = true,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    let result = load(source, templates: templates, extraFiles: extraFiles, symlinks: symlinks)
    var remaining = result.diagnostics.filter { !(allowWarnings && $0.severity == .warning && $0.id == "image-file-missing") }
    for (marker, expectation) in expected.sorted(by: { $0.key < $1.key }) {
        guard let position = result.markers[marker] else {
            Issue.record("marker \(marker) is not in the source", sourceLocation: sourceLocation)
            continue
        }
        let index = remaining.firstIndex { $0.location.line == position.line && $0.location.column == position.column && $0.id == expectation.id }
        guard let index else {
            Issue.record("no '\(expectation.id)' diagnostic at marker \(marker) (\(position.line):\(position.column)); got:\n\(result.diagnostics.map(\.rendered).joined(separator: "\n"))", sourceLocation: sourceLocation)
            continue
        }
        #expect(remaining[index].message == expectation.message, sourceLocation: sourceLocation)
        remaining.remove(at: index)
    }
    #expect(remaining.isEmpty, "unexpected diagnostics:\n\(remaining.map(\.rendered).joined(separator: "\n"))", sourceLocation: sourceLocation)
}

/// A minimal valid topology body to build test cases on.
let validBase = """
name: acme
images:
  tiny: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
networks:
  lan: { cidr: 10.10.0.0/24 }
"""
