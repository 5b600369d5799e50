/// Sizes and durations as the language writes them (`512MiB`, `40GiB`, `120s`).
public enum Quantity {
    public enum Failure: Error, Equatable {
        case syntax
        /// A decimal unit (`MB`, `GB`) where the language wants a binary one: carries the right spelling.
        case decimalUnit(suggestion: String)
        case overflow
    }

    /// A size in MiB: an integer with `MiB`, `GiB` or `TiB`, or a plain integer meaning `defaultUnit`.
    public static func mebibytes(_ text: String, plainUnit: String?) -> Result<UInt64, Failure> {
        let trimmed = text.trimmingCharacters(in: " ")
        var digits = Substring(trimmed)
        while let last = digits.last, !last.isNumber { digits.removeLast() }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: " ")
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .failure(.syntax) }
        guard let number = UInt64(digits) else { return .failure(.overflow) }
        let factor: UInt64
        switch unit {
        case "MiB": factor = 1
        case "GiB": factor = 1024
        case "TiB": factor = 1024 * 1024
        case "":
            guard let plainUnit else { return .failure(.syntax) }
            return mebibytes(trimmed + plainUnit, plainUnit: nil)
        case "M", "MB", "m", "mb", "Mb", "mib", "MIB": return .failure(.decimalUnit(suggestion: "\(digits)MiB"))
        case "G", "GB", "g", "gb", "Gb", "gib", "GIB": return .failure(.decimalUnit(suggestion: "\(digits)GiB"))
        case "T", "TB", "t", "tb", "Tb", "tib", "TIB": return .failure(.decimalUnit(suggestion: "\(digits)TiB"))
        default: return .failure(.syntax)
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: factor)
        guard !overflow, product < UInt64(1) << 44 else { return .failure(.overflow) }
        return .success(product)
    }

    /// A duration in seconds: an integer with `s`, `m` or `h`, or a plain integer of seconds.
    public static func seconds(_ text: String) -> Result<Int, Failure> {
        let trimmed = text.trimmingCharacters(in: " ")
        var digits = Substring(trimmed)
        while let last = digits.last, !last.isNumber { digits.removeLast() }
        let unit = trimmed.dropFirst(digits.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .failure(.syntax) }
        guard let number = Int(digits), number < 1_000_000 else { return .failure(.overflow) }
        switch unit {
        case "", "s": return .success(number)
        case "m": return number < 1_000_000 / 60 ? .success(number * 60) : .failure(.overflow)
        case "h": return number < 1_000_000 / 3600 ? .success(number * 3600) : .failure(.overflow)
        default: return .failure(.syntax)
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(self).trimmingCharacters(in: character)
    }
}
