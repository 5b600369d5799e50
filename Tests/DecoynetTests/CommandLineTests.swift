import Foundation
import TestSupport
import Testing

/// The built `decoynet` binary, run as a user would.
struct DecoyNetBinary {
    static let projectRoot = BuiltBinary.projectRoot
    static let path = BuiltBinary.decoynet

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], in directory: String = projectRoot, environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit, "decoynet \(arguments) was killed by a signal")
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

func scratchFolder() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-cli-" + UUID().uuidString).path
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct CommandLineTests {
    @Test func helpListsTheVerbs() throws {
        let output = try DecoyNetBinary.run(["--help"])
        #expect(output.status == 0)
        for verb in ["validate", "compile", "graph"] { #expect(output.stdout.contains(verb)) }
        let compile = try DecoyNetBinary.run(["compile", "--help"])
        #expect(compile.stdout.contains("--accel"))
        #expect(compile.stdout.contains("-o, --output <dir>"))
    }

    @Test func validateSucceedsOnTheExamples() throws {
        let output = try DecoyNetBinary.run(["validate", "topologies/quickstart.yaml", "topologies/enterprise.yaml", "topologies/classroom.yaml"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("topologies/quickstart.yaml: valid: environment quickstart, 2 networks, 3 hosts"))
        #expect(output.stdout.contains("topologies/enterprise.yaml: valid: environment acme"))
    }

    @Test func validateReportsEveryErrorInCompilerFormatAndFails() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("""
        name: acme
        networks:
          lan: { cidr: 10.10.0.0/22, egres: nat }
        hosts:
          dc01:
            image: { kernel: /k, initrd: /i }
            interfaces: [{ network: lan, address: 10.30.0.5 }]

        """.utf8).write(to: URL(fileURLWithPath: folder + "/acme.yaml"))
        let output = try DecoyNetBinary.run(["validate", "acme.yaml"], in: folder)
        #expect(output.status == 1)
        let lines = output.stderr.split(separator: "\n").map(String.init).filter { $0.contains("error:") }
        #expect(lines == [
            "acme.yaml:3:30: error: unknown key 'egres' in network lan; did you mean 'egress'?",
            "acme.yaml:6:22: error: image file '/k' is outside the image folders (/var/lib/decoynet/images); build it there with 'decoynet image build', or allow its folder with --allow-images DIR",
            "acme.yaml:6:34: error: image file '/i' is outside the image folders (/var/lib/decoynet/images); build it there with 'decoynet image build', or allow its folder with --allow-images DIR",
            "acme.yaml:7:43: error: address 10.30.0.5 is outside network lan (10.10.0.0/22)",
        ])
        #expect(output.stdout.contains("acme.yaml: invalid (4 errors"))
    }

    @Test func validateJSONIsMachineReadable() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("name: Bad\n".utf8).write(to: URL(fileURLWithPath: folder + "/bad.yaml"))
        let output = try DecoyNetBinary.run(["validate", "--json", "bad.yaml", DecoyNetBinary.projectRoot + "/topologies/quickstart.yaml"], in: folder)
        #expect(output.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(json["valid"] as? Bool == false)
        #expect(json["errors"] as? Int == 3)
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.count == 2)
        #expect(files[1]["valid"] as? Bool == true)
        #expect(files[1]["hosts"] as? Int == 3)
        let first = try #require((files[0]["diagnostics"] as? [[String: Any]])?.first)
        #expect(first["file"] as? String == "bad.yaml")
        #expect(first["line"] as? Int == 1)
        #expect(first["severity"] as? String == "error")
        #expect(first["id"] as? String != nil)
    }

    @Test func compileWritesTheThreeFoldersAndIsRepeatable() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try DecoyNetBinary.run(["compile", "topologies/enterprise.yaml", "-o", folder + "/a"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("wrote 4 networks, 131 domains and 131 volumes"))
        let second = try DecoyNetBinary.run(["compile", "topologies/enterprise.yaml", "-o", folder + "/b", "--json"])
        #expect(second.status == 0)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((summary["domains"] as? [String])?.count == 131)
        for sub in ["networks", "domains", "volumes"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/a/" + sub).sorted()
            #expect(names == (try FileManager.default.contentsOfDirectory(atPath: folder + "/b/" + sub).sorted()))
            for name in names {
                let a = try Data(contentsOf: URL(fileURLWithPath: folder + "/a/" + sub + "/" + name))
                let b = try Data(contentsOf: URL(fileURLWithPath: folder + "/b/" + sub + "/" + name))
                #expect(a == b, "\(sub)/\(name)")
            }
        }
        let kvm = try DecoyNetBinary.run(["compile", "topologies/quickstart.yaml", "-o", folder + "/kvm", "--accel", "kvm"])
        #expect(kvm.status == 0)
        let domain = try String(contentsOfFile: folder + "/kvm/domains/quickstart-gw.xml", encoding: .utf8)
        #expect(domain.hasPrefix("<domain type=\"kvm\">"))
    }

    @Test func compileRefusesAnInvalidFileAndWritesNothing() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("name: acme\nnetworks: {}\nhosts: {}\n".utf8).write(to: URL(fileURLWithPath: folder + "/t.yaml"))
        let output = try DecoyNetBinary.run(["compile", "t.yaml", "-o", "out"], in: folder)
        #expect(output.status == 1)
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))
        let badAccel = try DecoyNetBinary.run(["compile", "topologies/quickstart.yaml", "-o", folder + "/x", "--accel", "hyperv"])
        #expect(badAccel.status != 0)
        #expect(badAccel.stderr.contains("hyperv"))
    }

    @Test func graphDrawsGroupsAndGateways() throws {
        let dot = try DecoyNetBinary.run(["graph", "topologies/enterprise.yaml"])
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("graph \"acme\" {"))
        #expect(dot.stdout.contains("label=\"ws x120\\n(workstation)\""))
        #expect(dot.stdout.contains("\"host:fw\" -- \"net:lan\" [label=\"10.10.3.254\\ngateway\", style=bold"))
        let mermaid = try DecoyNetBinary.run(["graph", "topologies/enterprise.yaml", "--format", "mermaid"])
        #expect(mermaid.status == 0)
        #expect(mermaid.stdout.hasPrefix("flowchart LR\n"))
        #expect(mermaid.stdout.contains("[[\"ws x120<br/>(workstation)\"]]"))
        #expect(mermaid.stdout.contains("linkStyle"))
    }

    @Test func deployVerbsCheckTheirArguments() throws {
        let named = try DecoyNetBinary.run(["plan", "topologies/quickstart.yaml", "--instance", "i2", "--connect", "test:///default"])
        #expect(named.status != 0)
        #expect(named.stderr.contains("names i1, i2 ... are those of --instances copies"))
        let both = try DecoyNetBinary.run(["apply", "topologies/quickstart.yaml", "--instances", "2", "--instance", "bob"])
        #expect(both.stderr.contains("--instances and --instance exclude each other"))
        let memory = try DecoyNetBinary.run(["reset", "quickstart", "--memory"])
        #expect(memory.status != 0)
        #expect(memory.stderr.contains("give --evidence DIR too"))
        // --boot-slots paces what is waited for: with --no-wait it would be silently ignored.
        let unpaced = try DecoyNetBinary.run(["apply", "topologies/quickstart.yaml", "--no-wait", "--boot-slots", "4"])
        #expect(unpaced.status != 0 && unpaced.stderr.contains("--boot-slots paces the boots apply waits for"), "\(unpaced.stderr)")
        let unpacedReset = try DecoyNetBinary.run(["reset", "quickstart", "--no-wait", "--boot-slots", "4"])
        #expect(unpacedReset.status != 0 && unpacedReset.stderr.contains("with --no-wait every domain starts at once"), "\(unpacedReset.stderr)")
        let badName = try DecoyNetBinary.run(["destroy", "Not_A_Name"])
        #expect(badName.stderr.contains("is not an environment name"))
        // --instances takes the same value on every verb: a number, or all where copies exist.
        for verb in ["destroy", "status", "health", "reset"] {
            let zero = try DecoyNetBinary.run([verb, "quickstart", "--instances", "0"])
            #expect(zero.status != 0 && zero.stderr.contains("--instances must be 1 to 200, or all"), "\(verb): \(zero.stderr)")
            let word = try DecoyNetBinary.run([verb, "quickstart", "--instances", "some"])
            #expect(word.status != 0 && word.stderr.contains("--instances"), "\(verb): \(word.stderr)")
        }
        let allOnApply = try DecoyNetBinary.run(["apply", "topologies/quickstart.yaml", "--instances", "all"])
        #expect(allOnApply.status != 0 && allOnApply.stderr.contains("give a number, 1 to 200"), "\(allOnApply.stderr)")
        let none = try DecoyNetBinary.run(["destroy", "quickstart", "--instances", "2", "--connect", "test:///default"])
        #expect(none.stderr.contains("no copy quickstart-i1, quickstart-i2 on test:///default"), "\(none.stderr)")
    }

    @Test func planOnTheTestDriverShowsCopies() throws {
        let output = try DecoyNetBinary.run(["plan", "topologies/quickstart.yaml", "--instances", "2", "--connect", "test:///default", "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let plans = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(plans.map { $0["environment"] as? String } == ["quickstart-i1", "quickstart-i2"])
    }

    @Test func junkInputNeverCrashes() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var generator = SystemRandomNumberGenerator()
        let samples: [Data] = [
            Data(), Data([0xFF, 0xD8, 0xFF, 0xE0]), Data((0 ..< 4096).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }),
            Data("- [ { : ] }\n\t\u{0}".utf8), Data(String(repeating: "{", count: 20000).utf8),
            Data("name: &a [*a]\n".utf8), Data("%YAML 9.9\n---\n...\n---\n".utf8),
        ]
        for (index, sample) in samples.enumerated() {
            let path = folder + "/junk\(index).yaml"
            try sample.write(to: URL(fileURLWithPath: path))
            let output = try DecoyNetBinary.run(["validate", path])
            #expect(output.status == 1, "junk \(index): \(output.stderr)")
            #expect(output.stderr.contains("error:"))
        }
    }

    @Test func evidenceIsListedVerifiedAndRemovedOnlyWhereItIsEvidence() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let kept = folder + "/acme-20261201T101010Z"
        try FileManager.default.createDirectory(atPath: kept + "/ws-01", withIntermediateDirectories: true)
        try Data("what the guest changed\n".utf8).write(to: URL(fileURLWithPath: kept + "/ws-01/overlay.qcow2"))
        let sum = Self.sha256("what the guest changed\n")
        try Data("\(sum)  ws-01/overlay.qcow2\n".utf8).write(to: URL(fileURLWithPath: kept + "/SHA256SUMS"))
        let manifest = #"{"environment":"acme","topologyDigest":"sha256:0","created":"2026-12-01T10:10:10Z","tool":"decoynet","hosts":[],"captures":[]}"#
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: kept + "/manifest.json"))
        let notes = folder + "/acme-notes"
        try FileManager.default.createDirectory(atPath: notes, withIntermediateDirectories: true)

        let listed = try DecoyNetBinary.run(["evidence", "list", folder, "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String } == ["acme-20261201T101010Z"])
        #expect(rows.first?["created"] as? String == "2026-12-01T10:10:10Z" && rows.first?["environment"] as? String == "acme", "\(rows)")

        let verified = try DecoyNetBinary.run(["evidence", "verify", kept])
        #expect(verified.status == 0 && verified.stdout.contains("1 of 1 files verify"), "\(verified.stdout) \(verified.stderr)")
        try Data("changed since\n".utf8).write(to: URL(fileURLWithPath: kept + "/ws-01/overlay.qcow2"))
        let mismatch = try DecoyNetBinary.run(["evidence", "verify", kept])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("MISMATCH ws-01/overlay.qcow2"), "\(mismatch.stdout) \(mismatch.stderr)")

        // One name that is not evidence and nothing is removed, not even the evidence named first.
        let refused = try DecoyNetBinary.run(["evidence", "rm", kept, notes])
        #expect(refused.status != 0 && refused.stderr.contains("\(notes) is not an evidence folder"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: kept + "/manifest.json") && FileManager.default.fileExists(atPath: notes))
        let removed = try DecoyNetBinary.run(["evidence", "rm", kept + "/"])
        #expect(removed.status == 0 && removed.stdout.contains("removed"), "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: kept) && FileManager.default.fileExists(atPath: notes))
    }

    static func sha256(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(printed.prefix(64))
    }
}
