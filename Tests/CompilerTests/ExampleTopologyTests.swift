import Compiler
import Foundation
import Testing

/// Every example in `topologies/` is valid and compiles, and the enterprise one is enterprise-sized.
@Suite struct ExampleTopologyTests {
    static let examples = (try? FileManager.default.contentsOfDirectory(atPath: projectRoot + "/topologies"))?
        .filter { $0.hasSuffix(".yaml") }.sorted() ?? []

    @Test func thereAreExamples() {
        #expect(Self.examples.contains("quickstart.yaml"))
        #expect(Self.examples.contains("enterprise.yaml"))
        #expect(Self.examples.contains("classroom.yaml"))
    }

    @Test(arguments: examples)
    func exampleValidatesAndCompiles(_ file: String) throws {
        let result = Compiler.lower(path: projectRoot + "/topologies/" + file, projectTemplates: projectTemplates)
        #expect(result.diagnostics.filter { $0.severity == .error }.isEmpty, "\(result.diagnostics.map(\.rendered))")
        #expect(result.diagnostics.allSatisfy { $0.id == "image-file-missing" }, "only missing base images may warn")
        let environment = try #require(result.environment)
        let compiled = DocumentRenderer.render(environment, acceleration: .qemu)
        #expect(compiled.domains.count == environment.hosts.count)
    }

    @Test func quickstartIsTwoNetworksAndThreeTinyHosts() throws {
        let environment = try #require(Compiler.lower(path: projectRoot + "/topologies/quickstart.yaml", projectTemplates: projectTemplates).environment)
        #expect(environment.networks.count == 2)
        #expect(environment.hosts.count == 3)
        #expect(environment.hosts.allSatisfy { $0.template == "tiny" })
    }

    @Test func classroomIsFiveHosts() throws {
        let environment = try #require(Compiler.lower(path: projectRoot + "/topologies/classroom.yaml", projectTemplates: projectTemplates).environment)
        #expect(environment.hosts.count == 5)
    }

    @Test func enterpriseLooksLikeACompany() throws {
        let environment = try #require(Compiler.lower(path: projectRoot + "/topologies/enterprise.yaml", projectTemplates: projectTemplates).environment)
        #expect(Set(environment.networks.map(\.name)) == ["dmz", "servers", "lan", "mgmt"])
        #expect(environment.hosts.filter { $0.group == "ws" }.count >= 120)
        let groups = Set(environment.groups.map(\.name))
        #expect(groups.isSuperset(of: ["fw", "www", "mail", "ns1", "proxy", "dc01", "file01", "auth01", "db01", "jump"]))
        #expect(environment.networks.allSatisfy { $0.gateway == "fw" })
    }
}
