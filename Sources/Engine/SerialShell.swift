import Foundation
import Hypervisor

/// A root shell on a host's serial console, for hosts without a guest agent (stealthy ones): it
/// logs in as a person at the keyboard would, types one script, and reads what the script printed
/// between two markers. Nothing but keystrokes reaches the guest.
public struct SerialShell: Sendable {
    public var uri: String
    public var domain: String
    public var user: String
    public var password: String

    public init(uri: String, domain: String, user: String, password: String) {
        self.uri = uri
        self.domain = domain
        self.user = user
        self.password = password
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Runs `script` with bash as the logged-in user and returns its standard output (and error).
    /// Whatever happens, the console is left at its login prompt, its echo on.
    public func run(script: String, timeout: Double = 120) async throws -> String {
        let console = try ConsoleStream(uri: uri, domain: domain)
        let screen = Screen()
        let reader = Task {
            for await bytes in console.output { await screen.append(bytes) }
            // Another client took the console (libvirt gives it to the last to ask): stop waiting.
            await screen.end()
        }
        do {
            let output = try await session(console, screen, script: script, deadline: Date().addingTimeInterval(timeout))
            await leave(console, screen)
            reader.cancel()
            console.close()
            return output
        } catch {
            await leave(console, screen)
            reader.cancel()
            console.close()
            throw error
        }
    }

    /// Interrupts what may still run, ends the input and logs out, then waits (10 s at most) for the
    /// login prompt to come back: a console closed before the guest read `exit` stays logged in as
    /// root, and its getty is gone from the process list.
    private func leave(_ console: ConsoleStream, _ screen: Screen) async {
        await screen.clear()
        guard (try? console.write(Array("\u{03}\u{04}\rstty echo; exit\r".utf8))) != nil else { return }
        _ = try? await wait(screen, for: ["login: "], deadline: Date().addingTimeInterval(10), what: "the login prompt after logging out")
    }

    private func session(_ console: ConsoleStream, _ screen: Screen, script: String, deadline: Date) async throws -> String {

        // A shell may be open already (a console left logged in): a user's is left, root's is used.
        try await press(console, screen, until: ["login: ", "# ", "$ "], resend: "\r", deadline: deadline, what: "a login prompt")
        if await screen.tail.hasSuffix("$ ") {
            try await type(console, "exit\r")
            try await press(console, screen, until: ["login: "], resend: "\r", deadline: deadline, what: "a login prompt")
        }
        if await !screen.tail.hasSuffix("# ") {
            try await type(console, user + "\r")
            try await wait(screen, for: ["Password: "], deadline: deadline, what: "the password prompt")
            try await type(console, password + "\r")
            let seen = try await wait(screen, for: ["# ", "$ ", "Login incorrect"], deadline: deadline, what: "a shell after logging in")
            if seen == "Login incorrect" { throw Failure(description: "\(domain) refused \(user)'s console login") }
            if seen == "$ " { throw Failure(description: "\(user)'s console login on \(domain) gave no root shell") }
        }
        // The script is typed as base64 lines for `base64 -d | bash` to read: the terminal's own line
        // discipline takes them whole, where bash's line editor, typed into this fast, loses characters.
        // The markers are made by the shell, so the echo of the line that asks for them does not match.
        // The line goes into no history file: nothing of DecoyNet's is left in the guest.
        await screen.clear()
        try await type(console, " unset HISTFILE; stty -echo; echo DNB$((40+2)); base64 -d | bash 2>&1; echo DNE$((40+2)); stty echo\r")
        try await wait(screen, for: ["DNB42"], deadline: deadline, what: "start of the script's output")
        let encoded = Data(script.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
        try await type(console, encoded + "\r\u{04}")
        try await wait(screen, for: ["DNE42"], deadline: deadline, what: "end of the script's output")
        let text = await screen.text
        guard let begin = text.range(of: "DNB42"), let end = text.range(of: "DNE42", range: begin.upperBound ..< text.endIndex) else {
            throw Failure(description: "no output between the markers on the console of \(domain)")
        }
        return String(text[begin.upperBound ..< end.lowerBound]).replacingOccurrences(of: "\r", with: "")
    }

    /// Types `text` in pieces, as a terminal would send a paste.
    private func type(_ console: ConsoleStream, _ text: String) async throws {
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: 256) {
            try console.write(Array(bytes[start ..< min(start + 256, bytes.count)]))
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// Presses `resend` every 3 s until one of `prompts` ends the screen.
    private func press(_ console: ConsoleStream, _ screen: Screen, until prompts: [String], resend: String, deadline: Date, what: String) async throws {
        while Date() < deadline {
            if await screen.ended { throw Failure(description: "the console of \(domain) closed (another client took it?) while waiting for \(what)") }
            try console.write(Array(resend.utf8))
            if (try? await wait(screen, for: prompts, deadline: min(deadline, Date().addingTimeInterval(3)), what: what, atEnd: true)) != nil { return }
        }
        throw Failure(description: "\(domain) showed no \(what) on its serial console")
    }

    /// Waits until the screen holds one of `patterns` (at its end when `atEnd`); returns which.
    @discardableResult
    private func wait(_ screen: Screen, for patterns: [String], deadline: Date, what: String, atEnd: Bool = false) async throws -> String {
        while Date() < deadline {
            if await screen.ended { throw Failure(description: "the console of \(domain) closed (another client took it?) while waiting for \(what)") }
            let tail = await screen.tail
            for pattern in patterns where atEnd ? tail.hasSuffix(pattern) : tail.contains(pattern) {
                if !atEnd { await screen.consume(through: pattern) }
                return pattern
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw Failure(description: "\(domain) showed no \(what) on its serial console in time")
    }
}

/// What the console printed since the last `clear`, and where waiting resumes (a byte offset).
private actor Screen {
    private var bytes: [UInt8] = []
    private var mark = 0
    private(set) var ended = false

    func append(_ more: [UInt8]) { bytes += more }

    func end() { ended = true }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The last 4 KiB after the last pattern waited for, trailing spaces kept (prompts end in one).
    var tail: String { String(decoding: bytes[max(mark, bytes.count - 4096)...], as: UTF8.self) }

    func consume(through pattern: String) {
        let needle = Array(pattern.utf8)
        guard needle.count <= bytes.count - mark else { return }
        for start in mark ... bytes.count - needle.count where bytes[start ..< start + needle.count].elementsEqual(needle) {
            mark = start + needle.count
            return
        }
    }

    func clear() {
        bytes = []
        mark = 0
    }
}

/// This machine's secret for stealthy hosts' root logins (`ConsoleLogin`): 32 random bytes in a file
/// only root reads, made the first time a stealthy host is deployed.
public enum ConsoleKey {
    public static var path: String {
        ProcessInfo.processInfo.environment["DECOYNET_CONSOLE_KEY"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/decoynet/console.key"
    }

    public static func machine() throws -> [UInt8] {
        if let existing = FileManager.default.contents(atPath: path), existing.count == 32 { return Array(existing) }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let key = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        // Made aside and renamed: two deploys at once keep the same key.
        let temporary = path + ".\(getpid()).part"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw SerialShell.Failure(description: "cannot write the console key \(path)")
        }
        defer { unlink(temporary) }
        if link(temporary, path) != 0 {
            // Another deploy made it first: theirs is the key.
            guard let existing = FileManager.default.contents(atPath: path), existing.count == 32 else {
                throw SerialShell.Failure(description: "the console key \(path) is not 32 bytes: remove it (stealthy hosts deployed with it then need a new apply)")
            }
            return Array(existing)
        }
        return key
    }
}
