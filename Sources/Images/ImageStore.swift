import Foundation
import Naming

/// The folder of built images (`/var/lib/decoynet/images`, or `DECOYNET_IMAGES`): one folder per
/// image with `disk.qcow2`, `vmlinuz`, `initrd.img` and `image.json`, which says what it was built from.
public struct ImageStore: Sendable {
    public static let defaultRoot = Naming.imageStore

    public var root: String

    public init(root: String? = nil) {
        let environment = ProcessInfo.processInfo.environment["DECOYNET_IMAGES"].flatMap { $0.isEmpty ? nil : $0 }
        self.root = root ?? environment ?? Self.defaultRoot
    }

    public func folder(_ name: String) -> String { root + "/" + name }
    public func disk(_ name: String) -> String { folder(name) + "/disk.qcow2" }
    public func kernel(_ name: String) -> String { folder(name) + "/vmlinuz" }
    public func initrd(_ name: String) -> String { folder(name) + "/initrd.img" }
    func manifestPath(_ name: String) -> String { folder(name) + "/image.json" }
    /// Where a build assembles an image before it replaces the old one in one rename.
    func staging(_ name: String) -> String { root + "/.build-" + name }

    /// What `image.json` records.
    public struct Manifest: Codable, Sendable, Equatable {
        public var name: String
        public var recipeDigest: String
        public var builtAt: String
        public var suite: String
        public var packages: [String]
        public var diskBytes: UInt64
        public var buildSeconds: Double
        /// Its first-boot agent holds at a warm template's seed (`WarmTemplates` in the engine):
        /// images built before it did are booted, never cloned.
        public var holdsForTemplates: Bool?

        enum CodingKeys: String, CodingKey {
            case name, suite, packages
            case recipeDigest = "recipe_digest"
            case builtAt = "built_at"
            case diskBytes = "disk_bytes"
            case buildSeconds = "build_seconds"
            case holdsForTemplates = "holds_for_templates"
        }
    }

    public func manifest(_ name: String) -> Manifest? {
        guard let data = FileManager.default.contents(atPath: manifestPath(name)),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else { return nil }
        let complete = [disk(name), kernel(name), initrd(name)].allSatisfy { FileManager.default.fileExists(atPath: $0) }
        return complete ? manifest : nil
    }

    /// Names of the images in the store with a complete build.
    public func builtNames() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { !$0.hasPrefix(".") && manifest($0) != nil }.sorted()
    }

    /// Bytes the image's files take on disk.
    public func size(_ name: String) -> UInt64 {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder(name))) ?? []
        return entries.reduce(0) { total, entry in
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder(name) + "/" + entry)
            return total + ((attributes?[.size] as? NSNumber)?.uint64Value ?? 0)
        }
    }

    /// Removes an image and any half-made build of it; false when there was nothing.
    @discardableResult
    public func remove(_ name: String) throws -> Bool {
        var removed = false
        for path in [folder(name), staging(name)] where FileManager.default.fileExists(atPath: path) {
            try FileManager.default.removeItem(atPath: path)
            removed = true
        }
        return removed
    }
}
