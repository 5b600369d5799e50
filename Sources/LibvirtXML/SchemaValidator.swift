import CLibXML2
import Foundation

/// Checks documents against libvirt's own RelaxNG schemas (`/usr/share/libvirt/schemas`).
public final class SchemaValidator: @unchecked Sendable {
    public enum Schema: String, Sendable, CaseIterable {
        case network
        case domain
        case storageVolume = "storagevol"
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let defaultDirectory = "/usr/share/libvirt/schemas"

    private let schema: xmlRelaxNGPtr
    private let lock = NSLock()

    public init(_ schema: Schema, directory: String = SchemaValidator.defaultDirectory) throws {
        LibXML2.initialize()
        let path = directory + "/" + schema.rawValue + ".rng"
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "libvirt schema \(path) not found (install libvirt-clients)")
        }
        guard let context = xmlRelaxNGNewParserCtxt(path) else { throw Failure(description: "cannot read \(path)") }
        defer { xmlRelaxNGFreeParserCtxt(context) }
        guard let parsed = xmlRelaxNGParse(context) else { throw Failure(description: "cannot parse \(path)") }
        self.schema = parsed
    }

    deinit {
        xmlRelaxNGFree(schema)
    }

    /// The schema's complaints about `xml`, empty when it is valid.
    public func problems(in xml: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let collector = ErrorCollector()
        let box = Unmanaged.passRetained(collector)
        defer { box.release() }
        let bytes = Array(xml.utf8)
        guard let doc = bytes.withUnsafeBufferPointer({ pointer in
            pointer.withMemoryRebound(to: CChar.self) { xmlReadMemory($0.baseAddress, Int32($0.count), "document.xml", nil,
                          Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)) }
        }) else {
            return ["not well-formed XML"]
        }
        defer { xmlFreeDoc(doc) }
        guard let context = xmlRelaxNGNewValidCtxt(schema) else { return ["cannot create a validation context"] }
        defer { xmlRelaxNGFreeValidCtxt(context) }
        xmlRelaxNGSetValidStructuredErrors(context, { userData, error in
            guard let userData, let error else { return }
            let collector = Unmanaged<ErrorCollector>.fromOpaque(userData).takeUnretainedValue()
            let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
            collector.messages.append("line \(error.pointee.line): " + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }, box.toOpaque())
        let result = xmlRelaxNGValidateDoc(context, doc)
        if result != 0, collector.messages.isEmpty { return ["document does not match the schema"] }
        return result == 0 ? [] : collector.messages
    }
}

private final class ErrorCollector {
    var messages: [String] = []
}
