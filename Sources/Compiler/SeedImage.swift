/// A NoCloud seed as an ISO 9660 image labelled `cidata`: what cloud-init, cloudbase-init and
/// DecoyNet's own first-boot agent look for.
///
/// A plain level-1 layout (no Rock Ridge, no Joliet) written byte by byte, so the same seed is the
/// same image: Linux shows `META-DATA.;1` as `meta-data`. Sectors: 16 empty, the primary volume
/// descriptor, the terminator, the two path tables, the root directory, then each file.
public enum SeedImage {
    static let sector = 2048

    /// `image` with zeros after it up to a size class (1 MiB, then powers of two): the size a seed
    /// disk is made. A clone restored from a warm template keeps the template's idea of its seed
    /// disk's size, so a template's seed and its clones' are made the same size; an ISO's own
    /// volume size says where it ends.
    public static func padded(_ image: [UInt8]) -> [UInt8] {
        var size = 1 << 20
        while size < image.count { size <<= 1 }
        return image + [UInt8](repeating: 0, count: size - image.count)
    }

    /// `files` by name (lowercase, as the guest reads them).
    public static func iso(label: String = "cidata", files: [(name: String, contents: [UInt8])]) -> [UInt8] {
        let sorted = files.map { (identifier: Array(($0.name.uppercased() + ".;1").utf8), contents: $0.contents) }
            .sorted { $0.identifier.lexicographicallyPrecedes($1.identifier) }
        let rootSector = 20
        var nextSector = rootSector + 1
        var extents: [Int] = []
        for file in sorted {
            extents.append(nextSector)
            nextSector += max(1, (file.contents.count + sector - 1) / sector)
        }
        let totalSectors = nextSector
        var image = [UInt8](repeating: 0, count: totalSectors * sector)

        func put(_ bytes: [UInt8], at offset: Int) { image.replaceSubrange(offset ..< offset + bytes.count, with: bytes) }
        func text(_ value: String, width: Int) -> [UInt8] {
            Array((value + String(repeating: " ", count: max(0, width - value.utf8.count))).utf8.prefix(width))
        }
        let date: [UInt8] = [126, 1, 1, 0, 0, 0, 0]
        func record(name: [UInt8], extent: Int, length: Int, directory: Bool) -> [UInt8] {
            var bytes: [UInt8] = [0, 0] + bothEndian32(extent) + bothEndian32(length) + date
            bytes += [directory ? 2 : 0, 0, 0] + bothEndian16(1) + [UInt8(name.count)] + name
            if bytes.count % 2 == 1 { bytes.append(0) }
            bytes[0] = UInt8(bytes.count)
            return bytes
        }

        // Primary volume descriptor.
        let pvd = 16 * sector
        put([1] + Array("CD001".utf8) + [1, 0], at: pvd)
        put(text("LINUX", width: 32), at: pvd + 8)
        put(text(label, width: 32), at: pvd + 40)
        put(bothEndian32(totalSectors), at: pvd + 80)
        put(bothEndian16(1), at: pvd + 120)
        put(bothEndian16(1), at: pvd + 124)
        put(bothEndian16(sector), at: pvd + 128)
        put(bothEndian32(10), at: pvd + 132)
        put(littleEndian32(18), at: pvd + 140)
        put(bigEndian32(19), at: pvd + 148)
        put(record(name: [0], extent: rootSector, length: sector, directory: true), at: pvd + 156)
        for (offset, width) in [(190, 128), (318, 128), (446, 128), (574, 128), (702, 37), (739, 37), (776, 37)] {
            put(text("", width: width), at: pvd + offset)
        }
        put(text("DECOYNET", width: 128), at: pvd + 574)
        for offset in [813, 830, 847, 864] { put(Array(repeating: UInt8(ascii: "0"), count: 16) + [0], at: pvd + offset) }
        image[pvd + 881] = 1
        // Terminator.
        put([255] + Array("CD001".utf8) + [1], at: 17 * sector)
        // Path tables: the root alone, little-endian then big-endian.
        put([1, 0] + littleEndian32(rootSector) + [1, 0, 0, 0], at: 18 * sector)
        put([1, 0] + bigEndian32(rootSector) + [0, 1, 0, 0], at: 19 * sector)
        // The root directory and the files.
        var directory = record(name: [0], extent: rootSector, length: sector, directory: true)
            + record(name: [1], extent: rootSector, length: sector, directory: true)
        for (index, file) in sorted.enumerated() {
            directory += record(name: file.identifier, extent: extents[index], length: file.contents.count, directory: false)
            put(file.contents, at: extents[index] * sector)
        }
        put(directory, at: rootSector * sector)
        return image
    }

    static func littleEndian32(_ value: Int) -> [UInt8] { (0 ..< 4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func bigEndian32(_ value: Int) -> [UInt8] { littleEndian32(value).reversed() }
    static func bothEndian32(_ value: Int) -> [UInt8] { littleEndian32(value) + bigEndian32(value) }
    static func bothEndian16(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
