import Foundation

/// A command that failed: what ran, its exit status, and where its output went.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public var command: String
    public var status: Int32
    public var log: String?

    public var description: String {
        "\(command) exited with status \(status)" + (log.map { "; see \($0)" } ?? "")
    }
}

/// Runs a program to completion without holding one of Swift's cooperative threads while it runs.
/// Its output is appended to `log` when given (else discarded); `environment` adds variables.
func run(_ arguments: [String], log: String? = nil, environment: [String: String] = [:]) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    process.standardInput = FileHandle.nullDevice
    var handle: FileHandle?
    if let log {
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        handle?.write(Data(("$ " + arguments.joined(separator: " ") + "\n").utf8))
    }
    process.standardOutput = handle ?? FileHandle.nullDevice
    process.standardError = handle ?? FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    try? handle?.close()
    if status != 0 { throw CommandFailure(command: arguments.prefix(2).joined(separator: " "), status: status, log: log) }
}
