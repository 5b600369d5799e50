import Foundation

/// `count` random bytes: what no file system compresses to nothing (repeated bytes take almost no
/// disk on btrfs or ZFS, and a quota's test counts the disk taken).
public func randomBytes(_ count: Int) -> Data {
    var data = Data(count: count)
    data.withUnsafeMutableBytes { buffer in
        var generator = SystemRandomNumberGenerator()
        // A word at a time: a byte at a time takes seconds per MiB in a debug build.
        let words = buffer.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = generator.next() }
    }
    return data
}
