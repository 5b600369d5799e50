import Foundation

/// How DecoyNet's small records on disk (clean states' `state.json`, templates' `template.json`,
/// captures' tracking files) are written and read: dates in ISO 8601, keys sorted, indented.
public enum JSONRecords {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
