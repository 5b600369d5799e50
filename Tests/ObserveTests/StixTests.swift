import Foundation
import Testing
@testable import Observe

@Suite struct StixTests {
    let started = Date(timeIntervalSince1970: 1_764_583_200)
    let sample = StixBundle.Sample(name: "invoice.sh", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", size: 1234)

    func event(_ seconds: Double, from: String, _ fromAddress: String, to: String?, _ toAddress: String, _ detail: TimelineEvent.Detail) -> TimelineEvent {
        TimelineEvent(time: started.addingTimeInterval(seconds), network: "lan", src: .init(host: from, address: fromAddress),
                      dst: .init(host: to, address: toAddress), outside: to == nil || to == "inet" || from == "inet", detail: detail)
    }

    /// What a beaconing sample leaves: its lookups (one of the company's own names), two beacons,
    /// a connection to a bare address, and the phishing mail that came in.
    var events: [TimelineEvent] {
        [
            event(0, from: "inet", "203.0.113.1", to: "mail", "10.20.0.25", .smtp(from: "billing@example.net", to: ["tsato@corp.acme.example"], subject: "Invoice")),
            event(1, from: "ws-01", "10.10.0.5", to: "ns1", "172.16.10.53", .dns(query: "C2.Example.NET", type: "A", answers: ["203.0.113.1"], rcode: "NOERROR")),
            event(1.5, from: "ws-01", "10.10.0.5", to: "ns1", "172.16.10.53", .dns(query: "file01.corp.acme.example", type: "A", answers: ["10.20.0.30"], rcode: "NOERROR")),
            event(1.6, from: "mail", "10.20.0.25", to: "ns1", "172.16.10.53", .dns(query: "1.113.0.203.in-addr.arpa", type: "PTR", answers: [], rcode: "NOERROR")),
            event(2, from: "ws-01", "10.10.0.5", to: "inet", "203.0.113.1", .flow(protocol: "tcp", port: 80, state: .new)),
            event(2.1, from: "ws-01", "10.10.0.5", to: "inet", "203.0.113.1", .http(method: "GET", host: "c2.example.net", path: "/beacon", status: 200)),
            event(12, from: "ws-01", "10.10.0.5", to: "inet", "203.0.113.1", .http(method: "GET", host: "c2.example.net", path: "/beacon", status: 200)),
            event(13, from: "ws-01", "10.10.0.5", to: nil, "198.51.100.7", .flow(protocol: "tcp", port: 4444, state: .new)),
        ]
    }

    var bundle: StixBundle {
        StixBundle(run: "20251201T100000Z-acme", sample: sample, created: started, domain: "corp.acme.example", outsideHosts: ["inet"], events: events)
    }

    @Test func theContactsInTheOrderFirstSeen() {
        #expect(bundle.contacts.map { "\($0.type) \($0.value) \($0.count)" } == [
            "ipv4-addr 203.0.113.1 2", "domain-name c2.example.net 1", "url http://c2.example.net/beacon 2", "ipv4-addr 198.51.100.7 1",
        ])
    }

    @Test func theSameRunMakesTheSameBytes() {
        #expect(bundle.json == bundle.json)
        var other = bundle
        other.run = "20251202T100000Z-acme"
        #expect(other.json != bundle.json)
    }

    @Test func observableIdentifiersAreSTIXs() {
        // As OASIS's stix2 library computes it (stix2.IPv4Address(value="198.51.100.3").id); the
        // strict read below checks every observable of a bundle the same way.
        #expect(StixBundle.observableID("ipv4-addr", "198.51.100.3") == "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4")
    }

    @Test func stix2ReadsTheBundleStrictly() throws {
        let python = try TestPython.path()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stix-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try bundle.json.write(to: file, atomically: true, encoding: .utf8)
        let checker = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Python/check_stix.py").path
        let (status, output) = try TestPython.run(python, [checker, file.path])
        #expect(status == 0, "\(output)")
        #expect(output.split(separator: "\n").map(String.init) == [
            "domain-name c2.example.net resolves=1",
            "file invoice.sh 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 1234",
            "ipv4-addr 198.51.100.7",
            "ipv4-addr 203.0.113.1",
            "malware invoice.sh samples=1",
            "observed-data 1 2025-12-01T10:00:01+00:00",
            "observed-data 1 2025-12-01T10:00:13+00:00",
            "observed-data 2 2025-12-01T10:00:01+00:00",
            "observed-data 2 2025-12-01T10:00:02.100000+00:00",
            "relationship communicates-with",
            "relationship communicates-with",
            "relationship communicates-with",
            "relationship communicates-with",
            "url http://c2.example.net/beacon",
        ])
    }
}

/// The tests' own Python (`scripts/python-env.sh`, which `make test` runs): stix2 and nothing else.
enum TestPython {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "the tests' Python environment is missing: run scripts/python-env.sh (make test does)" }
    }

    static func path() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["DECOYNET_TEST_PYTHON"] ?? root.appendingPathComponent(".build/python/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Missing() }
        return python
    }

    static func run(_ python: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
