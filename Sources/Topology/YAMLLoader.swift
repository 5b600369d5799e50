import Diagnostics
import Foundation
import Yams

/// Reads a YAML file into `YAMLNode`s with every node's line and column, reporting what libyaml
/// rejects as diagnostics instead of throwing.
///
/// Yams refuses a mapping with a repeated key, and points at the first occurrence. The language
/// wants the error at the second one and every other problem of the file reported too, so the
/// loader renames the occurrence Yams names to a placeholder of the same width (keeping every
/// later mark where it was), parses again, and reports each repeat at its own place.
public enum YAMLLoader {
    /// Files larger than this are refused before parsing, so a mistaken path cannot exhaust memory.
    public static let maximumFileSize = 64 << 20
    /// Aliases can expand a small file into a huge tree; the conversion stops past this many nodes.
    public static let maximumNodeCount = 2_000_000

    public struct Result: Sendable {
        public var root: YAMLNode?
        public var diagnostics: [Diagnostic]
    }

    public static func load(file path: String) -> Result {
        let start = SourceLocation(file: path, line: 1, column: 1)
        // Sized before it is read, so a mistaken path to a disk image costs nothing.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > maximumFileSize {
            return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.fileTooLarge(maximumFileSize), at: start)])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.unreadableFile(why), at: start)])
        }
        return load(data: data, file: path)
    }

    public static func load(data: Data, file path: String) -> Result {
        let start = SourceLocation(file: path, line: 1, column: 1)
        if data.count > maximumFileSize {
            return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.fileTooLarge(maximumFileSize), at: start)])
        }
        let bytes = [UInt8](data)
        if let bad = firstInvalidUTF8(bytes) {
            let location = locate(byteOffset: bad, in: bytes, file: path)
            return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.notUTF8(bytes[bad]), at: location)])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return load(text: text, file: path)
    }

    public static func load(text: String, file path: String) -> Result {
        var scalars = Array(text.unicodeScalars)
        var renamed: [String: RenamedKey] = [:]
        var diagnostics: [Diagnostic] = []
        // Each repeated key costs a parse of the whole file again: a large file gets fewer, so that
        // one of 1 MiB cannot ask for 256 parses.
        let attempts = text.utf8.count > 64 << 10 ? 16 : 256
        for attempt in 0 ..< attempts {
            let source = attempt == 0 ? text : String(String.UnicodeScalarView(scalars))
            do {
                guard let node = try Yams.compose(yaml: source) else {
                    return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.emptyFile, at: SourceLocation(file: path, line: 1, column: 1))])
                }
                var budget = maximumNodeCount
                guard let root = convert(node, file: path, budget: &budget) else {
                    return Result(root: nil, diagnostics: [Diagnostic(TopologyMessages.tooManyNodes(maximumNodeCount), at: SourceLocation(file: path, line: 1, column: 1))])
                }
                let (cleaned, repeats) = restoreRenamedKeys(root, renamed: renamed)
                diagnostics += repeats
                return Result(root: cleaned, diagnostics: diagnostics)
            } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
                let mark = context.mark
                let placeholder = Unicode.Scalar(0xE000 + UInt32(attempt))!
                if let key = renameKey(at: mark, in: &scalars, keys: duplicates, placeholder: placeholder) {
                    renamed[key.placeholder] = RenamedKey(original: key.original, location: SourceLocation(file: path, line: mark.line, column: mark.column))
                    continue
                }
                let name = duplicates.first ?? "?"
                diagnostics.append(Diagnostic(TopologyMessages.duplicateKey(name, firstAt: nil), at: SourceLocation(file: path, line: mark.line, column: mark.column)))
                return Result(root: nil, diagnostics: diagnostics)
            } catch {
                diagnostics.append(syntaxDiagnostic(error, file: path, text: text))
                return Result(root: nil, diagnostics: diagnostics)
            }
        }
        diagnostics.append(Diagnostic(TopologyMessages.tooManyDuplicateKeys, at: SourceLocation(file: path, line: 1, column: 1)))
        return Result(root: nil, diagnostics: diagnostics)
    }

    // MARK: - Repeated keys

    struct RenamedKey {
        var original: String
        var location: SourceLocation
    }

    /// Replaces the key written at `mark` by a run of `placeholder` of the same width in scalars.
    private static func renameKey(at mark: Mark, in scalars: inout [Unicode.Scalar], keys: [String], placeholder: Unicode.Scalar)
        -> (original: String, placeholder: String)? {
        var line = 1
        var index = 0
        while line < mark.line, index < scalars.count {
            if scalars[index] == "\n" { line += 1 }
            index += 1
        }
        let start = index + mark.column - 1
        guard line == mark.line, start < scalars.count else { return nil }
        for key in keys {
            let keyScalars = Array(key.unicodeScalars)
            var width: Int?
            if scalars[start...].starts(with: keyScalars) {
                width = keyScalars.count
            } else if scalars[start] == "\"" || scalars[start] == "'" {
                let quote = scalars[start]
                var end = start + 1
                while end < scalars.count, scalars[end] != quote, scalars[end] != "\n" {
                    end += scalars[end] == "\\" && quote == "\"" ? 2 : 1
                }
                if end < scalars.count, scalars[end] == quote,
                   String(String.UnicodeScalarView(scalars[(start + 1) ..< end])) == key {
                    width = end - start + 1
                }
            }
            if let width, width > 0 {
                let replacement = [Unicode.Scalar](repeating: placeholder, count: width)
                scalars.replaceSubrange(start ..< start + width, with: replacement)
                return (key, String(String.UnicodeScalarView(replacement)))
            }
        }
        return nil
    }

    /// Puts renamed keys back, keeps the first occurrence of each key, and reports the others.
    private static func restoreRenamedKeys(_ node: YAMLNode, renamed: [String: RenamedKey]) -> (YAMLNode, [Diagnostic]) {
        if renamed.isEmpty { return (node, []) }
        var diagnostics: [Diagnostic] = []
        func walk(_ node: YAMLNode) -> YAMLNode {
            switch node.kind {
            case .scalar:
                return node
            case let .sequence(items):
                return YAMLNode(kind: .sequence(items.map(walk)), location: node.location)
            case let .mapping(pairs):
                var restored: [YAMLPair] = []
                var firstSeen: [String: SourceLocation] = [:]
                let ordered = pairs.map { pair -> YAMLPair in
                    var pair = pair
                    if let text = pair.key.scalar, let original = renamed[text] {
                        pair.key.kind = .scalar(original.original, plain: true)
                    }
                    pair.value = walk(pair.value)
                    return pair
                }
                // Renaming may have moved a first occurrence after a later one in name only; order by place.
                for pair in ordered.sorted(by: { $0.key.location < $1.key.location }) {
                    guard let key = pair.key.scalar else { restored.append(pair); continue }
                    if let first = firstSeen[key] {
                        diagnostics.append(Diagnostic(TopologyMessages.duplicateKey(key, firstAt: first), at: pair.key.location))
                    } else {
                        firstSeen[key] = pair.key.location
                        restored.append(pair)
                    }
                }
                return YAMLNode(kind: .mapping(restored), location: node.location)
            }
        }
        let root = walk(node)
        return (root, diagnostics)
    }

    // MARK: - Conversion

    private static func convert(_ node: Node, file: String, budget: inout Int) -> YAMLNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case let .scalar(scalar):
            return YAMLNode(kind: .scalar(scalar.string, plain: scalar.style == .plain), location: location)
        case let .mapping(mapping):
            var pairs: [YAMLPair] = []
            var merged: [YAMLPair] = []
            pairs.reserveCapacity(mapping.count)
            for (key, value) in mapping {
                guard let key = convert(key, file: file, budget: &budget),
                      let value = convert(value, file: file, budget: &budget) else { return nil }
                // A merge key (`<<: *base`, or `<<: [*a, *b]`): the aliased mappings' entries, the
                // first source winning among them; the mapping's own keys win over all of them.
                if case .scalar("<<", plain: true) = key.kind, let sources = mergeSources(value) {
                    for source in sources {
                        for pair in source where !merged.contains(where: { $0.key.scalar == pair.key.scalar }) { merged.append(pair) }
                    }
                    continue
                }
                pairs.append(YAMLPair(key: key, value: value))
            }
            let own = Set(pairs.compactMap(\.key.scalar))
            pairs += merged.filter { $0.key.scalar.map { !own.contains($0) } ?? true }
            return YAMLNode(kind: .mapping(pairs), location: location)
        case let .sequence(sequence):
            var items: [YAMLNode] = []
            items.reserveCapacity(sequence.count)
            for item in sequence {
                guard let item = convert(item, file: file, budget: &budget) else { return nil }
                items.append(item)
            }
            return YAMLNode(kind: .sequence(items), location: location)
        case let .alias(alias):
            return YAMLNode(kind: .scalar("*\(alias.anchor.rawValue)", plain: false), location: location)
        }
    }

    /// The mappings a merge key's value names: one mapping, or a list of mappings; nil otherwise
    /// (then `<<` stays an ordinary key, and the validator says it is unknown).
    private static func mergeSources(_ value: YAMLNode) -> [[YAMLPair]]? {
        switch value.kind {
        case let .mapping(pairs): return [pairs]
        case let .sequence(items):
            let mappings = items.compactMap { item -> [YAMLPair]? in if case let .mapping(pairs) = item.kind { pairs } else { nil } }
            return mappings.count == items.count ? mappings : nil
        case .scalar: return nil
        }
    }

    // MARK: - Syntax errors

    private static func syntaxDiagnostic(_ error: Error, file: String, text: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation {
            SourceLocation(file: file, line: max(1, mark.line), column: max(1, mark.column))
        }
        switch error {
        case let YamlError.scanner(context, problem, mark, _),
             let YamlError.parser(context, problem, mark, _),
             let YamlError.composer(context, problem, mark, _):
            return Diagnostic(TopologyMessages.yamlSyntax(problem, context: context?.text), at: at(mark))
        case let YamlError.reader(problem, offset, _, _):
            let bytes = Array(text.utf8)
            let location = locate(byteOffset: min(offset ?? 0, bytes.count), in: bytes, file: file)
            return Diagnostic(TopologyMessages.yamlSyntax(problem, context: nil), at: location)
        default:
            return Diagnostic(TopologyMessages.yamlSyntax(String(describing: error), context: nil), at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    static func locate(byteOffset: Int, in bytes: [UInt8], file: String) -> SourceLocation {
        var line = 1
        var column = 1
        var index = 0
        while index < byteOffset, index < bytes.count {
            if bytes[index] == 0x0A {
                line += 1
                column = 1
            } else if bytes[index] & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return SourceLocation(file: file, line: line, column: column)
    }

    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length: Int
            switch byte {
            case 0x00 ... 0x7F: length = 1
            case 0xC2 ... 0xDF: length = 2
            case 0xE0 ... 0xEF: length = 3
            case 0xF0 ... 0xF4: length = 4
            default: return index
            }
            guard index + length <= bytes.count else { return index }
            for next in 1 ..< length where bytes[index + next] & 0xC0 != 0x80 {
                return index
            }
            if length > 1 {
                let scalar = String(decoding: bytes[index ..< index + length], as: UTF8.self).unicodeScalars.first
                if scalar == nil || scalar == "\u{FFFD}" { return index }
            }
            index += length
        }
        return nil
    }
}
