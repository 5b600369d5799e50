import Foundation

/// The file `virDomainSave` writes with libvirt's QEMU driver: a fixed header, the domain's XML and
/// a cookie (each ending in a NUL, then zeros up to `data_len`), then QEMU's migration stream.
///
/// libvirt restores a save only as the domain it was taken from (its ABI check refuses another
/// UUID or MAC through `--xml`), yet reads the XML from the header and nothing more. A warm
/// template's save becomes another host's by writing that host's XML into a copy's header: the
/// stream, where the guest's memory and devices are, stays as it is.
public struct SaveImage: Sendable, Equatable {
    public static let magic = Array("LibvirtQemudSave".utf8)
    /// The header: magic, then version, data_len, was_running, compressed, cookieOffset and 14
    /// unused words, each a 32-bit little-endian integer (libvirt writes its host's order; this
    /// reads x86-64's).
    static let headerBytes = 16 + 4 * 19

    public var version: UInt32
    /// The XML and cookie with their padding: the stream starts at `headerBytes + dataLength`.
    public var dataLength: UInt32
    public var wasRunning: UInt32
    public var compressed: UInt32
    public var xml: String
    public var cookie: String?

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public var streamOffset: UInt64 { UInt64(Self.headerBytes) + UInt64(dataLength) }

    /// Reads the header of the save at `path`.
    public static func read(_ path: String) throws -> SaveImage {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure(description: "cannot open \(path)") }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: headerBytes)) ?? Data())
        guard head.count == headerBytes, Array(head[0 ..< 16]) == magic else {
            throw Failure(description: "\(path) is not a libvirt QEMU save image")
        }
        func word(_ index: Int) -> UInt32 {
            let offset = 16 + 4 * index
            return UInt32(head[offset]) | UInt32(head[offset + 1]) << 8 | UInt32(head[offset + 2]) << 16 | UInt32(head[offset + 3]) << 24
        }
        let version = word(0), dataLength = word(1), cookieOffset = word(4)
        guard version == 2, dataLength > 0, dataLength < 16 << 20, cookieOffset < dataLength else {
            throw Failure(description: "\(path): a save image of version \(version) with \(dataLength) bytes of XML: not one this reads")
        }
        let data = [UInt8]((try? handle.read(upToCount: Int(dataLength))) ?? Data())
        guard data.count == Int(dataLength) else { throw Failure(description: "\(path) ends inside its header") }
        func string(from start: Int) -> String {
            let end = data[start...].firstIndex(of: 0) ?? data.count
            return String(decoding: data[start ..< end], as: UTF8.self)
        }
        let xmlEnd = cookieOffset > 0 ? Int(cookieOffset) : data.count
        guard let nul = data[0 ..< xmlEnd].firstIndex(of: 0) else { throw Failure(description: "\(path): the XML in its header does not end") }
        return SaveImage(version: version, dataLength: dataLength, wasRunning: word(2), compressed: word(3),
                         xml: String(decoding: data[0 ..< nul], as: UTF8.self), cookie: cookieOffset > 0 ? string(from: Int(cookieOffset)) : nil)
    }

    /// The header's bytes with `xml` in place of this save's XML: the same room when it fits,
    /// else more (the stream then moves on by as much).
    func header(xml newXML: String) -> [UInt8] {
        let xmlBytes = Array(newXML.utf8) + [0]
        let cookieBytes: [UInt8] = cookie.map { Array($0.utf8) + [0] } ?? []
        var length = Int(dataLength)
        if xmlBytes.count + cookieBytes.count > length {
            // Room for the XML and cookie and a page more, the stream at a page boundary as libvirt
            // puts it (its uncached reads need that).
            let end = (Self.headerBytes + xmlBytes.count + cookieBytes.count + 4096 + 4095) / 4096 * 4096
            length = end - Self.headerBytes
        }
        var bytes = Self.magic
        func word(_ value: UInt32) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)] }
        word(version)
        word(UInt32(length))
        word(wasRunning)
        word(compressed)
        word(cookie == nil ? 0 : UInt32(xmlBytes.count))
        for _ in 0 ..< 14 { word(0) }
        bytes += xmlBytes + cookieBytes
        bytes += [UInt8](repeating: 0, count: length - xmlBytes.count - cookieBytes.count)
        return bytes
    }

    /// Writes to `destination` the save at `source` with `xml` in its header: another domain's save
    /// of the same memory and devices. Writes to a temporary name and renames, so a copy cut short
    /// is never taken for a whole one.
    public static func copy(_ source: String, to destination: String, xml: String) throws {
        let image = try read(source)
        let header = image.header(xml: xml)
        let partial = destination + ".partial"
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: partial)
        guard fileManager.createFile(atPath: partial, contents: nil),
              let output = FileHandle(forWritingAtPath: partial), let input = FileHandle(forReadingAtPath: source) else {
            throw Failure(description: "cannot write \(partial)")
        }
        defer {
            try? output.close()
            try? input.close()
        }
        do {
            try output.write(contentsOf: Data(header))
            try input.seek(toOffset: image.streamOffset)
            while true {
                guard let chunk = try input.read(upToCount: 8 << 20), !chunk.isEmpty else { break }
                try output.write(contentsOf: chunk)
            }
            try? fileManager.removeItem(atPath: destination)
            try fileManager.moveItem(atPath: partial, toPath: destination)
        } catch {
            try? fileManager.removeItem(atPath: partial)
            throw Failure(description: "cannot write \(destination): \(error)")
        }
    }
}
