import Compiler
@testable import Engine
import Foundation
import Testing

/// Passwords hashed on the host for the seed a host boots with (the guest then only stores them).
@Suite struct PasswordHashTests {
    @Test func aHashIsYescryptAsDebianWritesItSaltedAfreshAndChecksItsPassword() throws {
        let first = try PasswordHash.yescrypt("Summer2026!"), second = try PasswordHash.yescrypt("Summer2026!")
        // Debian 12's chpasswd (PAM, libxcrypt's default cost): $y$j9T$SALT$HASH.
        for hash in [first, second] {
            #expect(hash.hasPrefix("$y$j9T$") && hash.split(separator: "$").count == 4, "\(hash)")
        }
        #expect(first != second, "a fresh salt for each")
        // What login does: hash the password given with the stored hash as setting.
        #expect(try PasswordHash.hash("Summer2026!", setting: first) == first)
        #expect(try PasswordHash.hash("summer2026!", setting: first) != first)
        #expect(throws: PasswordHash.Failure.self) { try PasswordHash.hash("x", setting: "$nonsense$") }
    }

    @Test func theSeedAHostBootsWithHoldsHashesNeverItsPasswords() async throws {
        var contents = SeedContents(instance: "i-1", hostname: "files", fqdn: "files.corp.example")
        contents.passwords = [.init(user: "tsato", text: "Plain Text 1"), .init(user: "root", text: "Console \"2\"")]
        let compiled = HostSeed(contents)
        #expect(compiled.userData.contains("    password: \"Plain Text 1\"\n    type: text"))

        let booted = try await PasswordHash.hashing(compiled)
        for text in ["Plain Text 1", "Console"] {
            #expect(!booted.userData.contains(text) && !booted.agentData.contains(text), "\(text) is in the booted seed")
        }
        let lines = booted.userData.split(separator: "\n").map(String.init)
        for (user, password) in [("tsato", "Plain Text 1"), ("root", "Console \"2\"")] {
            let at = try #require(lines.firstIndex(of: "  - name: \(user)"))
            let hash = String(lines[at + 1].dropFirst("    password: \"".count).dropLast())
            #expect(lines[at + 2] == "    type: hash")
            #expect(try PasswordHash.hash(password, setting: hash) == hash, "\(user)'s hash checks its password")
        }
        #expect(booted.agentData.contains("\"hash\": \"$y$"))
        // Everything else as compiled; hashed once only.
        #expect(booted.metaData == compiled.metaData && booted.networkConfig == compiled.networkConfig)
        #expect(try await PasswordHash.hashing(booted) == booted)
    }
}
