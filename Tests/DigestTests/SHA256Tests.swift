import Digest
import Testing

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(_ input: String, _ digest: String) {
        #expect(SHA256.hash(input).hexString == digest)
    }

    @Test func millionAs() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0 ..< 1000 { hasher.update(chunk) }
        #expect(hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingInOddPiecesEqualsOneShot() {
        let bytes = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var hasher = SHA256()
        var index = 0
        for size in [1, 63, 64, 65, 7, 200, 600] where index < bytes.count {
            let end = min(bytes.count, index + size)
            hasher.update(bytes[index ..< end])
            index = end
        }
        hasher.update(bytes[index...])
        #expect(hasher.finalize() == SHA256.hash(bytes))
    }
}

/// RFC 1320's test suite, and an NT hash Samba computes for a known password.
@Suite struct MD4Tests {
    @Test func rfc1320Vectors() {
        let vectors = [
            ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
            ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
            ("message digest", "d9130a8164549fe818874806e1c7014b"),
            ("12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"),
        ]
        for (text, digest) in vectors {
            #expect(MD4.hash(Array(text.utf8)).hexString == digest, "\(text)")
        }
    }

    @Test func ntHashOfAPassword() {
        // The well-known NT hash of "password".
        #expect(MD4.ntHash("password") == "8846F7EAEE8FB117AD06BDD830B7586C")
    }
}

@Suite struct SHA1Tests {
    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ])
    func knownVectors(_ input: String, _ digest: String) {
        #expect(SHA1.hash(Array(input.utf8)).hexString == digest)
    }
}
