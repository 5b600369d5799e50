import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Headless Chromium driven through chromedriver's W3C WebDriver protocol, both from Debian's
/// packages (`chromium`, `chromium-driver`).
public final class Browser: @unchecked Sendable {
    private let driver = Process()
    private let port: Int
    private var session = ""

    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    public init(width: Int = 1400, height: Int = 1000) async throws {
        port = Int.random(in: 20000 ... 40000)
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(port)"] + (ProcessInfo.processInfo.environment["DECOYNET_CHROMEDRIVER_LOG"].map { ["--verbose", "--log-path=" + $0] } ?? [])
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        var lastError: Error?
        for _ in 0 ..< 100 {
            do {
                let (status, value) = try Self.request(port: port, "POST", "/session", ["capabilities": ["alwaysMatch": ["goog:chromeOptions": [
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=\(width),\(height)"],
                ]]]])
                guard status == 200, let id = (value as? [String: Any])?["sessionId"] as? String else {
                    throw ServerFailure(message: "chromedriver: \(status) \(String(describing: value))")
                }
                session = id
                // Finding an element waits for it (a page still loading after a click), up to 10 s.
                _ = try Self.request(port: port, "POST", "/session/\(id)/timeouts", ["implicit": 10000])
                return
            } catch {
                lastError = error
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        driver.terminate()
        throw lastError ?? ServerFailure(message: "chromedriver did not start")
    }

    /// A test that failed midway leaves no browser behind: chromedriver is killed, and Chromium,
    /// its child, with it.
    deinit {
        if driver.isRunning {
            _ = try? Self.request(port: port, "DELETE", "/session/\(session)", nil)
            kill(driver.processIdentifier, SIGKILL)
        }
    }

    public func quit() async {
        _ = try? Self.request(port: port, "DELETE", "/session/\(session)", nil)
        driver.terminate()
    }

    /// One WebDriver call, through curl: chromedriver writes its header lines without the space
    /// after the colon, which Foundation's URLSession refuses.
    private static func request(port: Int, _ method: String, _ path: String, _ body: [String: Any]?) throws -> (Int, Any?) {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-m", "60", "-X", method, "-H", "Content-Type: application/json", "--data-binary", "@-", "-w", "\n%{http_code}",
                          "http://127.0.0.1:\(port)" + path]
        let input = Pipe(), output = Pipe()
        curl.standardInput = input
        curl.standardOutput = output
        try curl.run()
        input.fileHandleForWriting.write(try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data(method == "POST" ? "{}".utf8 : "".utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]), status > 0 else {
            throw ServerFailure(message: "chromedriver did not answer \(method) \(path)")
        }
        let json = try? JSONSerialization.jsonObject(with: Data(text[..<newline].utf8), options: [.fragmentsAllowed])
        return (status, (json as? [String: Any])?["value"])
    }

    @discardableResult
    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        let (status, value) = try Self.request(port: port, method, "/session/\(session)" + path, body)
        if status != 200 {
            throw ServerFailure(message: "webdriver \(method) \(path): \(status) \(((value as? [String: Any])?["message"] as? String) ?? String(describing: value))")
        }
        return value is NSNull ? nil : value
    }

    public func open(_ url: String) async throws { try await command("POST", "/url", ["url": url]) }

    public var url: String { get async throws { try await command("GET", "/url") as? String ?? "" } }

    /// The first element matching the CSS selector.
    public func element(_ selector: String) async throws -> String {
        let value = try await command("POST", "/element", ["using": "css selector", "value": selector]) as? [String: Any]
        guard let id = value?.values.first as? String else { throw ServerFailure(message: "no element \(selector)") }
        return id
    }

    public func click(_ selector: String) async throws { try await command("POST", "/element/\(try await element(selector))/click", [:]) }

    public func type(_ text: String, into selector: String) async throws {
        try await command("POST", "/element/\(try await element(selector))/value", ["text": text])
    }

    public func text(_ selector: String) async throws -> String {
        try await command("GET", "/element/\(try await element(selector))/text") as? String ?? ""
    }

    /// Runs a script in the page and returns what it returns.
    @discardableResult
    public func script(_ source: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": source, "args": arguments])
    }

    /// Accepts a `confirm()` dialog.
    public func acceptDialog() async throws { try await command("POST", "/alert/accept", [:]) }

    public func deleteCookies() async throws { try await command("DELETE", "/cookie") }

    /// The viewport as PNG.
    public func screenshot() async throws -> Data {
        guard let base64 = try await command("GET", "/screenshot") as? String, let data = Data(base64Encoded: base64) else {
            throw ServerFailure(message: "no screenshot")
        }
        return data
    }

    /// Waits until `condition` (a script returning a truthy value) holds.
    public func wait(until condition: String, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let value = try? await script("return Boolean(\(condition));") as? Bool, value { return }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServerFailure(message: "timed out waiting for \(condition) at \(try await url)")
    }
}
