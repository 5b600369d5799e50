/// A JSON object written with its keys in the order given: timeline lines read the same for people
/// and compare byte for byte in tests.
struct JSONLine {
    indirect enum Value {
        case string(String)
        case number(Int)
        case bool(Bool)
        case null
        case array([Value])
        case object([(String, Value)])
    }

    private var fields: [(String, Value)] = []

    mutating func field(_ key: String, _ value: Value) { fields.append((key, value)) }

    var text: String {
        var out = ""
        Self.write(.object(fields), to: &out)
        return out
    }

    static func write(_ value: Value, to out: inout String) {
        switch value {
        case let .string(text): quote(text, to: &out)
        case let .number(number): out += String(number)
        case let .bool(flag): out += flag ? "true" : "false"
        case .null: out += "null"
        case let .array(values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                write(element, to: &out)
            }
            out += "]"
        case let .object(pairs):
            out += "{"
            for (index, (key, element)) in pairs.enumerated() {
                if index > 0 { out += "," }
                quote(key, to: &out)
                out += ":"
                write(element, to: &out)
            }
            out += "}"
        }
    }

    /// JSON's escapes: the quote, the backslash and control characters; everything else as UTF-8.
    static func quote(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
