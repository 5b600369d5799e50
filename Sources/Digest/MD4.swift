/// MD4 (RFC 1320), for one purpose: the NT hash of a password (MD4 of its UTF-16LE bytes), which
/// Samba's `smbpasswd` file holds. A whole company's file-server accounts are then written into the
/// seed, where running `smbpasswd` once per person costs minutes under emulation. Not for anything
/// that needs a secure hash.
public enum MD4 {
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        var a: UInt32 = 0x6745_2301, b: UInt32 = 0xefcd_ab89, c: UInt32 = 0x98ba_dcfe, d: UInt32 = 0x1032_5476
        var bytes = message
        bytes.append(0x80)
        while bytes.count % 64 != 56 { bytes.append(0) }
        let bits = UInt64(message.count) &* 8
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
        for block in stride(from: 0, to: bytes.count, by: 64) {
            var x = [UInt32](repeating: 0, count: 16)
            for index in 0 ..< 16 {
                let offset = block + index * 4
                x[index] = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
            }
            let (aa, bb, cc, dd) = (a, b, c, d)
            let f = { (x: UInt32, y: UInt32, z: UInt32) in x & y | ~x & z }
            let g = { (x: UInt32, y: UInt32, z: UInt32) in x & y | x & z | y & z }
            let h = { (x: UInt32, y: UInt32, z: UInt32) in x ^ y ^ z }
            for index in [0, 4, 8, 12] {
                a = rotate(a &+ f(b, c, d) &+ x[index], 3)
                d = rotate(d &+ f(a, b, c) &+ x[index + 1], 7)
                c = rotate(c &+ f(d, a, b) &+ x[index + 2], 11)
                b = rotate(b &+ f(c, d, a) &+ x[index + 3], 19)
            }
            for index in [0, 1, 2, 3] {
                a = rotate(a &+ g(b, c, d) &+ x[index] &+ 0x5a82_7999, 3)
                d = rotate(d &+ g(a, b, c) &+ x[index + 4] &+ 0x5a82_7999, 5)
                c = rotate(c &+ g(d, a, b) &+ x[index + 8] &+ 0x5a82_7999, 9)
                b = rotate(b &+ g(c, d, a) &+ x[index + 12] &+ 0x5a82_7999, 13)
            }
            for index in [0, 2, 1, 3] {
                a = rotate(a &+ h(b, c, d) &+ x[index] &+ 0x6ed9_eba1, 3)
                d = rotate(d &+ h(a, b, c) &+ x[index + 8] &+ 0x6ed9_eba1, 9)
                c = rotate(c &+ h(d, a, b) &+ x[index + 4] &+ 0x6ed9_eba1, 11)
                b = rotate(b &+ h(c, d, a) &+ x[index + 12] &+ 0x6ed9_eba1, 15)
            }
            a = a &+ aa
            b = b &+ bb
            c = c &+ cc
            d = d &+ dd
        }
        return [a, b, c, d].flatMap { word in (0 ..< 4).map { UInt8(truncatingIfNeeded: word >> UInt32($0 * 8)) } }
    }

    /// The NT hash of a password, as 32 hex digits in capitals (the smbpasswd file's spelling).
    public static func ntHash(_ password: String) -> String {
        let utf16 = password.utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        return hash(utf16).hexString.uppercased()
    }
}
