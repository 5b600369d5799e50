import Foundation

/// Wireshark's dissectors through `tshark`: a capture file decoded whole, or a growing one followed.
public enum Tshark {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func executable() throws -> String {
        guard let path = ["/usr/bin/tshark", "/usr/sbin/tshark"].first(where: FileManager.default.isExecutableFile) else {
            throw Failure(description: "tshark is not installed (apt-get install tshark)")
        }
        return path
    }

    /// Every event of one network's capture file, in time order.
    public static func decode(file: String, book: AddressBook, network: String) throws -> [TimelineEvent] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable())
        process.arguments = ["-r", file] + PacketField.tsharkArguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting: a large capture fills the pipe long before tshark ends.
        let errorText = LockedBuffer()
        let errorReader = Thread { errorText.append(errors.fileHandleForReading.readDataToEndOfFile()) }
        errorReader.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errorText.data, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("Running as user") }
            throw Failure(description: "tshark could not read \(file): \(message.joined(separator: "; "))")
        }
        var decoder = PacketDecoder(book: book, network: network)
        var events: [TimelineEvent] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if let row = PacketRow(line: line) { events += decoder.decode(row) }
        }
        events += decoder.finish()
        return events.sorted { $0.time < $1.time }
    }

    /// The events of several networks' capture files, merged in time order.
    public static func decode(files: [(network: String, file: String)], book: AddressBook) throws -> [TimelineEvent] {
        var events: [TimelineEvent] = []
        for (network, file) in files { events += try decode(file: file, book: book, network: network) }
        // Stable for equal times: the order of the files, then of each file's events.
        return events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }
}

final class LockedBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = Data()
    func append(_ data: Data) { lock.withLock { storage.append(data) } }
    var data: Data { lock.withLock { storage } }
}
