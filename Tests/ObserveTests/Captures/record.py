#!/usr/bin/env python3
"""Writes the packet captures that ObserveTests decode, each a short, well-formed exchange.

Run by hand after changing an exchange (scapy from PyPI, in any virtual environment):
    python3 record.py      # in this folder; rewrites every *.pcap beside it
The captures are committed; the tests only read them. Times are fixed, so the files are the same
bytes on every run.
"""
from scapy.all import Ether, IP, TCP, UDP, Raw, DNS, DNSQR, DNSRR, wrpcap
from scapy.layers.kerberos import (Kerberos, KRB_AS_REQ, KRB_KDC_REQ_BODY, KRB_ERROR, PrincipalName)
from scapy.layers.ldap import LDAP, LDAP_BindRequest, LDAP_BindResponse, LDAP_Authentication_simple
from scapy.layers.smb2 import (SMB2_Header, SMB2_Session_Setup_Request, SMB2_Session_Setup_Response)
from scapy.layers.netbios import NBTSession
from scapy.layers.ntlm import NTLM_AUTHENTICATE_V2
from scapy.asn1.asn1 import ASN1_GENERAL_STRING, ASN1_INTEGER, ASN1_GENERALIZED_TIME

T0 = 1764583200.0  # 2025-12-01T10:00:00Z

WS = ("52:54:00:00:00:05", "10.10.0.5")       # ws-01 on lan
NS = ("52:54:00:00:00:35", "172.16.10.53")    # ns1 in the dmz
INET = ("52:54:00:00:00:01", "203.0.113.1")   # the internet host
C2 = ("52:54:00:00:00:fe", "198.51.100.7")    # an outside address, behind the gateway
MAIL = ("52:54:00:00:00:19", "10.20.0.25")    # mail on servers
FILE = ("52:54:00:00:00:1e", "10.20.0.30")    # file01 on servers
DC = ("52:54:00:00:00:0a", "10.20.0.10")      # dc01 on servers


class Clock:
    def __init__(self, start):
        self.now = start

    def stamp(self, packet, step=0.001):
        self.now += step
        packet.time = self.now
        return packet


def frame(src, dst):
    return Ether(src=src[0], dst=dst[0]) / IP(src=src[1], dst=dst[1])


class Conversation:
    """A TCP connection with its handshake, sequence numbers kept for both sides."""

    def __init__(self, clock, client, server, sport, dport):
        self.clock, self.client, self.server, self.sport, self.dport = clock, client, server, sport, dport
        self.cseq, self.sseq = 1000, 5000
        self.packets = []

    def _tcp(self, from_client, flags, payload=b""):
        if from_client:
            p = frame(self.client, self.server) / TCP(sport=self.sport, dport=self.dport, flags=flags,
                                                        seq=self.cseq, ack=self.sseq if "A" in flags else 0)
        else:
            p = frame(self.server, self.client) / TCP(sport=self.dport, dport=self.sport, flags=flags,
                                                        seq=self.sseq, ack=self.cseq)
        if payload:
            p = p / Raw(payload) if isinstance(payload, bytes) else p / payload
        self.packets.append(self.clock.stamp(p))
        length = len(bytes(p[TCP].payload)) + (1 if "S" in flags or "F" in flags else 0)
        if from_client:
            self.cseq += length
        else:
            self.sseq += length

    def open(self):
        self._tcp(True, "S")
        self._tcp(False, "SA")
        self._tcp(True, "A")
        return self

    def send(self, payload):
        self._tcp(True, "PA", payload)
        self._tcp(False, "A")
        return self

    def reply(self, payload):
        self._tcp(False, "PA", payload)
        self._tcp(True, "A")
        return self

    def close(self):
        self._tcp(True, "FA")
        self._tcp(False, "FA")
        self._tcp(True, "A")
        return self


def dns():
    clock = Clock(T0)
    q1 = frame(WS, NS) / UDP(sport=53001, dport=53) / DNS(id=0x1111, rd=1, qd=DNSQR(qname="update.example.net", qtype="A"))
    r1 = frame(NS, WS) / UDP(sport=53, dport=53001) / DNS(id=0x1111, qr=1, rd=1, ra=1, qd=DNSQR(qname="update.example.net", qtype="A"),
                                                        an=DNSRR(rrname="update.example.net", type="A", ttl=60, rdata="203.0.113.1"))
    q2 = frame(WS, NS) / UDP(sport=53002, dport=53) / DNS(id=0x2222, rd=1, qd=DNSQR(qname="nothing.corp.acme.example", qtype="A"))
    r2 = frame(NS, WS) / UDP(sport=53, dport=53002) / DNS(id=0x2222, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname="nothing.corp.acme.example", qtype="A"))
    wrpcap("dns.pcap", [clock.stamp(p) for p in (q1, r1, q2, r2)])


def http():
    clock = Clock(T0)
    c = Conversation(clock, WS, C2, 40000, 80).open()
    c.send(b"GET /beacon?id=ws-01 HTTP/1.1\r\nHost: c2.example.net\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
    c.reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello")
    c.close()
    wrpcap("http.pcap", c.packets)


def flows():
    clock = Clock(T0)
    packets = []
    # A connection the server refuses (RST to the SYN), one that is never answered, and a UDP flow.
    syn = frame(WS, FILE) / TCP(sport=41000, dport=3389, flags="S", seq=1)
    rst = frame(FILE, WS) / TCP(sport=3389, dport=41000, flags="RA", seq=0, ack=2)
    lost = frame(WS, C2) / TCP(sport=41001, dport=4444, flags="S", seq=1)
    udp1 = frame(WS, C2) / UDP(sport=41002, dport=123) / Raw(b"\x1b" + b"\0" * 47)
    udp2 = frame(WS, C2) / UDP(sport=41002, dport=123) / Raw(b"\x1b" + b"\0" * 47)
    for p in (syn, rst, lost, udp1, udp2):
        packets.append(clock.stamp(p))
    wrpcap("flows.pcap", packets)


def smtp():
    clock = Clock(T0)
    c = Conversation(clock, INET, MAIL, 42000, 25).open()
    c.reply(b"220 mail.corp.acme.example ESMTP Postfix\r\n")
    c.send(b"EHLO mx.example.net\r\n")
    c.reply(b"250-mail.corp.acme.example\r\n250 8BITMIME\r\n")
    c.send(b"MAIL FROM:<billing@example.net>\r\n")
    c.reply(b"250 2.1.0 Ok\r\n")
    c.send(b"RCPT TO:<tsato@corp.acme.example>\r\n")
    c.reply(b"250 2.1.5 Ok\r\n")
    c.send(b"DATA\r\n")
    c.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
    c.send(b"From: Billing <billing@example.net>\r\nTo: tsato@corp.acme.example\r\nSubject: Invoice 2291 overdue\r\n"
           b"Date: Mon, 01 Dec 2025 10:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nPlease see the attached invoice.\r\n.\r\n")
    c.reply(b"250 2.0.0 Ok: queued as 4A1B2C\r\n")
    c.send(b"QUIT\r\n")
    c.reply(b"221 2.0.0 Bye\r\n")
    c.close()
    wrpcap("smtp.pcap", c.packets)


def smb_session(clock, sport, user, status):
    c = Conversation(clock, WS, FILE, sport, 445).open()
    auth = NTLM_AUTHENTICATE_V2(UserName=user, DomainName="ACME", Workstation="WS-01",
                                LmChallengeResponse=b"\0" * 24, NtChallengeResponse=b"\x01" * 24,
                                EncryptedRandomSessionKey=b"", NegotiateFlags=0xe2888215)
    request = SMB2_Header(Command=1, MID=2, CreditRequest=1) / SMB2_Session_Setup_Request(Buffer=[("SecurityBlob", bytes(auth))])
    c.send(NBTSession() / request)
    response = SMB2_Header(Command=1, MID=2, Flags="SMB2_FLAGS_SERVER_TO_REDIR", Status=status, SessionId=0x1234) / SMB2_Session_Setup_Response()
    c.reply(NBTSession() / response)
    c.close()
    return c.packets


def smb():
    clock = Clock(T0)
    failed = smb_session(clock, 43000, "alice", 0xC000006D)   # STATUS_LOGON_FAILURE
    ok = smb_session(clock, 43001, "tsato", 0)
    wrpcap("smb.pcap", failed + ok)


def kerberos():
    clock = Clock(T0)
    body = KRB_KDC_REQ_BODY(kdcOptions="forwardable+renewable", cname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"mallory")], nameType=1),
                            realm=ASN1_GENERAL_STRING(b"CORP.ACME.EXAMPLE"),
                            sname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"krbtgt"), ASN1_GENERAL_STRING(b"CORP.ACME.EXAMPLE")], nameType=2),
                            till=ASN1_GENERALIZED_TIME("20370913024805Z"), nonce=ASN1_INTEGER(12345), etype=[ASN1_INTEGER(18)])
    request = frame(WS, DC) / UDP(sport=44000, dport=88) / Kerberos(root=KRB_AS_REQ(reqBody=body))
    error = KRB_ERROR(errorCode=6, stime=ASN1_GENERALIZED_TIME("20251201100000Z"), susec=0, realm=ASN1_GENERAL_STRING(b"CORP.ACME.EXAMPLE"),
                      sname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"krbtgt"), ASN1_GENERAL_STRING(b"CORP.ACME.EXAMPLE")], nameType=2))
    reply = frame(DC, WS) / UDP(sport=88, dport=44000) / Kerberos(root=error)
    wrpcap("kerberos.pcap", [clock.stamp(request), clock.stamp(reply)])


def ldap():
    clock = Clock(T0)
    c = Conversation(clock, WS, DC, 45000, 389).open()
    c.send(LDAP(messageID=1, protocolOp=LDAP_BindRequest(version=3, bind_name=b"CN=tsato,CN=Users,DC=corp,DC=acme,DC=example",
                                                        authentication=LDAP_Authentication_simple(b"wrong"))))
    c.reply(LDAP(messageID=1, protocolOp=LDAP_BindResponse(resultCode=49, matchedDN=b"", diagnosticMessage=b"")))
    c.send(LDAP(messageID=2, protocolOp=LDAP_BindRequest(version=3, bind_name=b"CN=tsato,CN=Users,DC=corp,DC=acme,DC=example",
                                                        authentication=LDAP_Authentication_simple(b"Winter2025!"))))
    c.reply(LDAP(messageID=2, protocolOp=LDAP_BindResponse(resultCode=0, matchedDN=b"", diagnosticMessage=b"")))
    c.close()
    wrpcap("ldap.pcap", c.packets)


if __name__ == "__main__":
    for record in (dns, http, flows, smtp, smb, kerberos, ldap):
        record()
