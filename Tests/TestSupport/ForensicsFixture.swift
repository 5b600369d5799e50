import Foundation

/// A host's disk as forensics finds it, without a guest: a base image (ext4 made by mke2fs -d,
/// in qcow2) and an overlay over it holding a guest's changes (made by debugfs on a copy, then
/// rebased onto the base so that only the changed clusters are in it). Nothing is mounted.
public enum ForensicsFixture {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs a shell script, failing with its output.
    @discardableResult
    public static func sh(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-ec", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw Failure(description: "sh failed: \(script)\n\(text)") }
        return text
    }

    public static func sha256(_ text: String) throws -> String {
        String(try sh("printf '%s' '\(text)' | sha256sum").prefix(64))
    }

    /// In `folder`: `base.qcow2` and `overlay.qcow2`. The overlay adds /home/tsato/implant.bin
    /// ("implant\n", uid 1000), rewrites /etc/motd ("before\n" to "after, longer\n"), removes
    /// /etc/old and leaves /usr/bin/tool and /etc/passwd (root, tsato) alone.
    public static func makeDisks(in folder: String) throws {
        try sh("""
        cd '\(folder)'
        mkdir -p tree/etc tree/home/tsato tree/usr/bin
        printf 'root:x:0:0:root:/root:/bin/sh\\ntsato:x:1000:1000:Taro:/home/tsato:/bin/sh\\n' > tree/etc/passwd
        printf 'kept\\n' > tree/usr/bin/tool
        printf 'before\\n' > tree/etc/motd
        printf 'gone\\n' > tree/etc/old
        mke2fs -q -F -t ext4 -d tree -E root_owner=0:0 base.raw 32M
        qemu-img convert -f raw -O qcow2 base.raw base.qcow2
        cp base.raw top.raw
        printf 'implant\\n' > implant
        printf 'after, longer\\n' > motd
        debugfs -w -R 'write implant /home/tsato/implant.bin' top.raw >/dev/null 2>&1
        debugfs -w -R 'sif /home/tsato/implant.bin uid 1000' top.raw >/dev/null 2>&1
        debugfs -w -R 'rm /etc/motd' top.raw >/dev/null 2>&1
        debugfs -w -R 'write motd /etc/motd' top.raw >/dev/null 2>&1
        debugfs -w -R 'rm /etc/old' top.raw >/dev/null 2>&1
        qemu-img convert -f raw -O qcow2 top.raw overlay.qcow2
        qemu-img rebase -q -f qcow2 -b '\(folder)/base.qcow2' -F qcow2 overlay.qcow2
        rm -rf tree base.raw top.raw implant motd
        """)
    }
}
