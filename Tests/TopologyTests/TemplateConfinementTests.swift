import Foundation
import Testing
@testable import Topology

/// A server reads template files only from its own folders: `templates:` naming anything else,
/// directly or through a symbolic link, is an error at the path, and nothing there is read.
@Suite struct TemplateConfinementTests {
    @Test func templatePathsOutsideTheAllowedFoldersAreRefusedAtTheirLine() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-templates-" + UUID().uuidString).path
        let inside = root + "/topologies"
        let outside = root + "/elsewhere"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for folder in [inside, outside] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try "secret:\n  memory: 1GiB\n".write(toFile: outside + "/secret.yaml", atomically: true, encoding: .utf8)
        try "mine:\n  memory: 1GiB\n".write(toFile: inside + "/mine.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: inside + "/link.yaml", withDestinationPath: outside + "/secret.yaml")
        let topology = """
            name: t
            templates: [mine.yaml, \(outside)/, link.yaml]
            networks: { lan: { cidr: 10.0.0.0/24 } }
            hosts:
              a: { template: mine, image: { kernel: /boot/k }, interfaces: [{ network: lan }] }

            """
        try topology.write(toFile: inside + "/t.yaml", atomically: true, encoding: .utf8)

        let confined = TopologyLoader.load(path: inside + "/t.yaml", projectTemplates: nil, templateRoots: [inside])
        let outsideErrors = confined.diagnostics.filter { $0.id == "template-path-outside" }
        #expect(outsideErrors.map { $0.location.line } == [2, 2])
        #expect(outsideErrors.map { $0.location.column } == [24, 24 + outside.count + 3])
        #expect(confined.templates.templates["secret"] == nil, "nothing was read from outside")
        #expect(confined.templates.templates["mine"] != nil)

        let free = TopologyLoader.load(path: inside + "/t.yaml", projectTemplates: nil)
        #expect(!free.diagnostics.contains { $0.id == "template-path-outside" }, "the command line reads templates anywhere")
        #expect(free.templates.templates["secret"] != nil)
    }
}
