import Diagnostics
import Topology

/// Every diagnostic of lowering, in one place; `docs/topology.md` explains each id.
public enum CompilerMessages {
    static func addressesExhausted(network: String, cidr: IPv4Network, host: String) -> Message {
        Message(id: "addresses-exhausted", "network \(network) (\(cidr)) has no free address left for host \(host)")
    }

    static func diskSmallerThanBase(_ size: UInt64, base: UInt64) -> Message {
        Message(id: "disk-smaller-than-base", "disk size \(ByteCount(size)) is smaller than its base image (\(ByteCount(base)))")
    }
}

/// Sizes printed in the binary units the language uses.
struct ByteCount: CustomStringConvertible {
    var bytes: UInt64

    init(_ bytes: UInt64) { self.bytes = bytes }

    var description: String {
        let mib: UInt64 = 1 << 20
        if bytes % (mib << 10) == 0 { return "\(bytes / (mib << 10))GiB" }
        if bytes % mib == 0 { return "\(bytes / mib)MiB" }
        return "\(bytes) bytes"
    }
}
