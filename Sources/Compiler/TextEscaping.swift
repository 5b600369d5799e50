/// Replacing single ASCII characters in one pass over the UTF-8, returning the text itself when
/// none occurs (the usual case): Foundation's `replacingOccurrences` bridges and searches once per
/// pattern, which showed in the profile of a 10,000-host compile.
struct ASCIIEscaper: Sendable {
    private var replacements: [String?]

    init(_ table: [Character: String]) {
        replacements = Array(repeating: nil, count: 128)
        for (character, replacement) in table {
            guard let ascii = character.asciiValue else { preconditionFailure("only ASCII characters are escaped") }
            replacements[Int(ascii)] = replacement
        }
    }

    func callAsFunction(_ text: String) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 < 128 && replacements[Int($0)] != nil }) else { return text }
        var result = ""
        result.reserveCapacity(utf8.count + 16)
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 128, let replacement = replacements[Int(byte)] {
                result += text[start ..< index]
                result += replacement
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        result += text[start ..< utf8.endIndex]
        return result
    }
}
