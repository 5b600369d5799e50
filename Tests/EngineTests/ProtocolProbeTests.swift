import Testing
import Topology
@testable import Engine

/// What protocol probes send and how they read answers, over recorded bytes.
@Suite struct ProtocolProbeTests {
    @Test func greetingsAreReadFromTheirFirstLine() {
        #expect(ProtocolProbes.problem(.ssh, answer: Array("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".utf8)) == nil)
        #expect(ProtocolProbes.problem(.ssh, answer: Array("HTTP/1.1 400 Bad Request\r\n".utf8)) == "no SSH banner (got 'HTTP/1.1 400 Bad Request')")
        #expect(ProtocolProbes.problem(.smtp, answer: Array("220 mail.harbor.example ESMTP Harbor mail service\r\n".utf8)) == nil)
        #expect(ProtocolProbes.problem(.smtp, answer: Array("554 go away\r\n".utf8)) != nil)
        #expect(ProtocolProbes.problem(.imap, answer: Array("* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n".utf8)) == nil)
        #expect(ProtocolProbes.isComplete(.ssh, Array("SSH-2.0-x\r\n".utf8)) && !ProtocolProbes.isComplete(.ssh, Array("SSH-2.0".utf8)))
        #expect(ProtocolProbes.request(.ssh).isEmpty, "the server speaks first")
    }

    @Test func httpStatusAndExpectedText() {
        #expect(ProtocolProbes.httpRequest(path: "/about.html", host: "10.78.1.10")
            == Array("GET /about.html HTTP/1.0\r\nHost: 10.78.1.10\r\nConnection: close\r\n\r\n".utf8))
        let page = Array("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>About Harbor Logistics</h1>\n".utf8)
        #expect(ProtocolProbes.httpProblem(answer: page, expect: nil) == nil)
        #expect(ProtocolProbes.httpProblem(answer: page, expect: "About Harbor Logistics") == nil)
        #expect(ProtocolProbes.httpProblem(answer: page, expect: "Acme") == "body lacks 'Acme'")
        #expect(ProtocolProbes.httpProblem(answer: Array("HTTP/1.1 404 Not Found\r\n\r\nAcme".utf8), expect: "Acme") == "HTTP 404")
        #expect(ProtocolProbes.httpProblem(answer: Array("SSH-2.0-OpenSSH\r\n".utf8), expect: nil) == "not an HTTP answer")
        #expect(ProtocolProbes.httpProblem(answer: Array("HTTP/1.0 301 Moved\r\n".utf8), expect: nil) == nil, "a redirect is an answer below 400")
    }

    @Test func mysqlHandshakeAndRefusal() {
        // Length 3 bytes little-endian, sequence 0, protocol version 10, server version.
        let handshake: [UInt8] = [0x0A, 0x00, 0x00, 0x00, 0x0A] + Array("10.11".utf8) + [0, 0, 0, 0]
        #expect(ProtocolProbes.isComplete(.mysql, handshake))
        #expect(ProtocolProbes.problem(.mysql, answer: handshake) == nil)
        let refused: [UInt8] = [0x10, 0x00, 0x00, 0x00, 0xFF, 0x6A, 0x04] + Array("Host not allowed".utf8)
        #expect(ProtocolProbes.problem(.mysql, answer: refused) == "MySQL refused: Host not allowed")
    }

    @Test func ldapAnonymousBind() {
        let request = ProtocolProbes.request(.ldap)
        #expect(request == [0x30, 0x0C, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00])
        let success: [UInt8] = [0x30, 0x0C, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]
        #expect(ProtocolProbes.isComplete(.ldap, success))
        #expect(ProtocolProbes.problem(.ldap, answer: success) == nil)
        var refused = success
        refused[9] = 49
        #expect(ProtocolProbes.problem(.ldap, answer: refused) == "LDAP bind failed with result code 49")
    }

    @Test func smbNegotiateIsFramedAndAnswered() {
        let request = ProtocolProbes.request(.smb)
        #expect(request.count == 4 + 64 + 36 + 4)
        #expect(Array(request[0 ..< 4]) == [0, 0, 0, 104])
        #expect(Array(request[4 ..< 8]) == [0xFE, 0x53, 0x4D, 0x42])
        var answer: [UInt8] = [0, 0, 0, 65] + [0xFE, 0x53, 0x4D, 0x42, 0x40, 0] + [UInt8](repeating: 0, count: 59)
        #expect(ProtocolProbes.isComplete(.smb, answer))
        #expect(ProtocolProbes.problem(.smb, answer: answer) == nil)
        answer[12] = 0x22
        answer[15] = 0xC0
        #expect(ProtocolProbes.problem(.smb, answer: answer) == "SMB2 negotiate failed with status 0xc0000022")
    }

    @Test func kerberosRequestIsDERAndErrorsCount() {
        let request = ProtocolProbes.request(.kerberos)
        let length = Int(request[0]) << 24 | Int(request[1]) << 16 | Int(request[2]) << 8 | Int(request[3])
        #expect(length == request.count - 4)
        #expect(request[4] == 0x6A, "[APPLICATION 10] AS-REQ")
        #expect(Int(request[5]) == request.count - 6 || request[5] == 0x81)
        #expect(ProtocolProbes.problem(.kerberos, answer: [0, 0, 0, 3, 0x7E, 0x01, 0x00]) == nil)
        #expect(ProtocolProbes.problem(.kerberos, answer: [0, 0, 0, 3, 0x30, 0x01, 0x00]) == "not a Kerberos answer")
    }

    @Test func dnsQueryAndAnswer() throws {
        let query = ProtocolProbes.dnsQuery("www.harbor.example", id: 0x1234)
        #expect(Array(query[0 ..< 12]) == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(Array(query[12...]) == [3] + Array("www".utf8) + [6] + Array("harbor".utf8) + [7] + Array("example".utf8) + [0, 0, 1, 0, 1])
        // The same question, then one A record with a compressed name pointing at it.
        var answer = query
        answer[2] = 0x81
        answer[3] = 0x80
        answer[7] = 1
        answer += [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0x0E, 0x10, 0, 4, 10, 78, 1, 10]
        #expect(try ProtocolProbes.dnsAddresses(answer, id: 0x1234).get() == ["10.78.1.10"])
        var missing = query
        missing[3] = 0x83
        #expect(throws: ProbeProblemText("no such name")) { try ProtocolProbes.dnsAddresses(missing, id: 0x1234).get() }
        #expect(throws: ProbeProblemText("not an answer to the query")) { try ProtocolProbes.dnsAddresses(answer, id: 0x9999).get() }
    }

    @Test func checksBecomeShellLinesThatReadAsOpenOrClosed() {
        #expect(OperationTester.command(.init(to: "db", address: "10.78.2.30", port: 3306, expect: "open"))
            == "timeout 3 bash -c '</dev/tcp/10.78.2.30/3306' 2>/dev/null")
        #expect(OperationTester.command(.init(name: "www.harbor.example", expect: "10.78.1.10")) == "getent ahostsv4 www.harbor.example | awk 'NR==1 { print $1 }'")
        #expect(OperationTester.command(.init(name: "x; rm -rf /", expect: "1.2.3.4")) == nil, "a name is never spliced into a shell line unchecked")
        #expect(OperationTester.label(.init(to: "db", address: "10.78.2.30", port: 5432, expect: "closed")) == "db:5432 closed")
    }
}
