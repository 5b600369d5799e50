import Digest
import Foundation

/// Volatility 3's symbol tables of the images' kernels, one per kernel, named by the kernel's
/// SHA-256 (`linux/DIGEST.json.xz`): made from the kernel image alone by `forensics/btf2isf.py`
/// (its BTF for the types, its kallsyms for the addresses) when an image is built, or when a
/// memory image of a host is first analysed. An unchanged kernel is never made twice.
public enum SymbolTables {
    public static let defaultDirectory = "/var/lib/decoynet/symbols"

    /// Where the table of a kernel with this digest lies.
    public static func path(digest: String, directory: String) -> String {
        directory + "/linux/" + digest + ".json.xz"
    }

    /// Makes the kernel's table unless it exists; true when it was made. Written beside its place
    /// and renamed, so a table is whole or absent.
    @discardableResult
    public static func ensure(kernel: String, directory: String, scripts: String) throws -> Bool {
        let digest: String
        do { digest = try EvidenceFolder.describe(kernel, relativeTo: "").sha256 } catch {
            throw Forensics.Failure(description: "cannot read the kernel \(kernel): \(error.localizedDescription)")
        }
        let target = path(digest: digest, directory: directory)
        if FileManager.default.fileExists(atPath: target) { return false }
        try FileManager.default.createDirectory(atPath: directory + "/linux", withIntermediateDirectories: true)
        // Outside the folder Volatility reads, and not named as a table, until it is whole.
        let temporary = directory + "/." + digest + ".\(getpid()).json.xz.part"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        // The converter needs only Python's standard library (and unlz4 or zstd for those kernels).
        let ran = try ToolRun.run("/usr/bin/python3", [scripts + "/btf2isf.py", "--bzimage", kernel, "-o", temporary])
        guard ran.status == 0, FileManager.default.fileExists(atPath: temporary) else {
            throw Forensics.Failure(description: "cannot make the symbol table of \(kernel): "
                + Forensics.lastLines(ran.errorText).replacingOccurrences(of: "\n", with: "; "))
        }
        guard rename(temporary, target) == 0 else {
            throw Forensics.Failure(description: "cannot write \(target): \(String(cString: strerror(errno)))")
        }
        return true
    }
}
