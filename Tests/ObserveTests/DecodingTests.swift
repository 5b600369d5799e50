import Foundation
import Testing
@testable import Observe

let captures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Captures").path

/// The company the captures were recorded in (`Captures/record.py`): an office, servers, a DMZ and
/// the internet host; 198.51.100.7 is outside every network.
let book = AddressBook(
    environment: "acme",
    networks: [
        .init(name: "lan", cidr: "10.10.0.0/22", bridgeAddress: "10.10.0.1"),
        .init(name: "servers", cidr: "10.20.0.0/24", bridgeAddress: "10.20.0.1"),
        .init(name: "dmz", cidr: "172.16.10.0/24", bridgeAddress: "172.16.10.1"),
        .init(name: "outside", cidr: "203.0.113.0/24", bridgeAddress: "203.0.113.250"),
    ],
    hosts: ["10.10.0.5": "ws-01", "172.16.10.53": "ns1", "203.0.113.1": "inet", "10.20.0.25": "mail", "10.20.0.30": "file01",
            "10.20.0.10": "dc01", "10.10.0.254": "fw", "10.20.0.254": "fw", "203.0.113.254": "fw"],
    outsideHosts: ["inet"])

func decode(_ name: String, network: String) throws -> [TimelineEvent] {
    try Tshark.decode(file: captures + "/" + name, book: book, network: network)
}

func lines(_ events: [TimelineEvent]) -> [String] { events.map { $0.jsonLine() } }

@Suite struct DecodingTests {
    @Test func lookupsWithTheirAnswersAndFailures() throws {
        let events = try decode("dns.pcap", network: "lan")
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.001Z","kind":"dns","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"ns1","address":"172.16.10.53"},"detail":{"query":"update.example.net","type":"A","answers":["203.0.113.1"],"rcode":"NOERROR"}}"#,
            #"{"time":"2025-12-01T10:00:00.003Z","kind":"dns","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"ns1","address":"172.16.10.53"},"detail":{"query":"nothing.corp.acme.example","type":"A","answers":[],"rcode":"NXDOMAIN"}}"#,
        ])
    }

    @Test func aLookupIsToldByTheAskersNetworkOnly() throws {
        // The same packets as the DMZ's capture saw them, routed through the gateway: not told twice.
        let events = try decode("dns.pcap", network: "dmz")
        #expect(lines(events) == [])
    }

    @Test func anHTTPRequestToTheOutsideWithItsStatus() throws {
        let events = try decode("http.pcap", network: "lan")
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.001Z","kind":"flow","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":null,"address":"198.51.100.7"},"outside":true,"detail":{"protocol":"tcp","port":80,"state":"new"}}"#,
            #"{"time":"2025-12-01T10:00:00.004Z","kind":"http","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":null,"address":"198.51.100.7"},"outside":true,"detail":{"method":"GET","host":"c2.example.net","path":"/beacon?id=ws-01","status":200}}"#,
        ])
    }

    @Test func flowsRefusedDroppedAndUDP() throws {
        let events = try decode("flows.pcap", network: "lan")
        let flows = events.map { event -> String in
            guard case let .flow(proto, port, state) = event.detail else { return "not a flow" }
            return "\(TimelineEvent.timeText(event.time)) \(event.src?.host ?? "-") -> \(event.dst?.host ?? event.dst?.address ?? "-") \(proto)/\(port) \(state.rawValue)\(event.outside ? " outside" : "")"
        }
        #expect(flows == [
            "2025-12-01T10:00:00.001Z ws-01 -> file01 tcp/3389 refused",
            "2025-12-01T10:00:00.004Z ws-01 -> 198.51.100.7 udp/123 new outside",
            // Never answered: concluded three seconds after its SYN.
            "2025-12-01T10:00:03.003Z ws-01 -> 198.51.100.7 tcp/4444 dropped outside",
        ])
    }

    @Test func aMailFromOutsideWithItsEnvelopeAndSubject() throws {
        let events = try decode("smtp.pcap", network: "outside").filter { $0.kind == .smtp }
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.022Z","kind":"smtp","network":"outside","src":{"host":"inet","address":"203.0.113.1"},"dst":{"host":"mail","address":"10.20.0.25"},"outside":true,"detail":{"from":"billing@example.net","to":["tsato@corp.acme.example"],"subject":"Invoice 2291 overdue"}}"#,
        ])
    }

    @Test func smbLogonsFailedAndSucceeded() throws {
        let events = try decode("smb.pcap", network: "lan").filter { $0.kind == .smbAuth }
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.004Z","kind":"smb-auth","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"file01","address":"10.20.0.30"},"detail":{"user":"alice","domain":"ACME","result":"failed"}}"#,
            #"{"time":"2025-12-01T10:00:00.014Z","kind":"smb-auth","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"file01","address":"10.20.0.30"},"detail":{"user":"tsato","domain":"ACME","result":"ok"}}"#,
        ])
    }

    @Test func aKerberosLogonOfAnUnknownUser() throws {
        let events = try decode("kerberos.pcap", network: "lan").filter { $0.kind == .kerberos }
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.001Z","kind":"kerberos","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"dc01","address":"10.20.0.10"},"detail":{"user":"mallory","realm":"CORP.ACME.EXAMPLE","result":"failed","error":"KDC_ERR_C_PRINCIPAL_UNKNOWN"}}"#,
        ])
    }

    @Test func ldapBindsWithTheirResults() throws {
        let events = try decode("ldap.pcap", network: "lan").filter { $0.kind == .ldapBind }
        #expect(lines(events) == [
            #"{"time":"2025-12-01T10:00:00.004Z","kind":"ldap-bind","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"dc01","address":"10.20.0.10"},"detail":{"user":"CN=tsato,CN=Users,DC=corp,DC=acme,DC=example","result":"failed"}}"#,
            #"{"time":"2025-12-01T10:00:00.008Z","kind":"ldap-bind","network":"lan","src":{"host":"ws-01","address":"10.10.0.5"},"dst":{"host":"dc01","address":"10.20.0.10"},"detail":{"user":"CN=tsato,CN=Users,DC=corp,DC=acme,DC=example","result":"ok"}}"#,
        ])
    }

    @Test func everyEventReadsBackAsWritten() throws {
        let all = try Tshark.decode(files: ["dns", "http", "flows", "smb", "kerberos", "ldap"].map { ("lan", captures + "/\($0).pcap") }
            + [("outside", captures + "/smtp.pcap")], book: book)
        #expect(all.count > 10)
        for event in all { #expect(TimelineEvent.parse(line: event.jsonLine()) == event) }
        #expect(all.map(\.time) == all.map(\.time).sorted())
    }

    @Test func aCaptureThatIsNotOneSaysSo() {
        #expect(throws: Tshark.Failure.self) { try Tshark.decode(file: captures + "/record.py", book: book, network: "lan") }
    }
}
