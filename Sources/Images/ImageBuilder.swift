import Foundation
import Topology

/// Builds images from recipes with mmdebstrap, from the Debian archive only.
///
/// An image is a root file system on an ext4 disk labelled `decoynet-root` (no partition table, no
/// boot loader: hosts boot its kernel and initrd directly), so building takes one mmdebstrap run,
/// one `mkfs.ext4 -d` and one `qemu-img convert`. Packages are kept in a shared cache between
/// builds. A recipe whose digest matches the built image is not rebuilt.
public struct ImageBuilder: Sendable {
    public enum Event: Sendable {
        case upToDate(name: String)
        case started(name: String)
        case phase(name: String, String)
        case built(name: String, seconds: Double, diskBytes: UInt64)
        case failed(name: String, message: String)
    }

    public var store: ImageStore
    /// The apt archive cache shared by every build.
    public var cache: String

    public init(store: ImageStore, cache: String = "/var/cache/decoynet/apt") {
        self.store = store
        self.cache = cache
    }

    public func isUpToDate(_ recipe: ImageRecipe) -> Bool {
        store.manifest(recipe.name)?.recipeDigest == RecipeDigest.of(recipe)
    }

    /// Builds each recipe that is not up to date, `jobs` at a time; returns the names that failed.
    public func build(_ recipes: [ImageRecipe], jobs: Int, force: Bool = false,
                      events: @escaping @Sendable (Event) -> Void) async -> [String] {
        var pending = recipes[...]
        var failed: [String] = []
        await withTaskGroup(of: String?.self) { group in
            func next() {
                while let recipe = pending.popFirst() {
                    if !force, isUpToDate(recipe) {
                        events(.upToDate(name: recipe.name))
                        continue
                    }
                    group.addTask {
                        do {
                            try await self.build(recipe, events: events)
                            return nil
                        } catch {
                            events(.failed(name: recipe.name, message: String(describing: error)))
                            return recipe.name
                        }
                    }
                    return
                }
            }
            for _ in 0 ..< max(1, jobs) { next() }
            while let result = await group.next() {
                if let name = result { failed.append(name) }
                if Task.isCancelled { break }
                next()
            }
        }
        return failed.sorted()
    }

    func build(_ recipe: ImageRecipe, events: @Sendable (Event) -> Void) async throws {
        let started = Date()
        let name = recipe.name
        let staging = store.staging(name)
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: staging)
        try fileManager.createDirectory(atPath: staging + "/files", withIntermediateDirectories: true)
        try fileManager.createDirectory(atPath: cache, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(atPath: staging + "/root") }
        let log = staging + "/build.log"
        events(.started(name: name))

        try writeFiles(recipe, into: staging + "/files")
        let customize = staging + "/customize.sh"
        try customizeScript(recipe, files: staging + "/files").write(toFile: customize, atomically: true, encoding: .utf8)
        try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: customize)

        events(.phase(name: name, "installing \(recipe.packages.count) packages (mmdebstrap, \(recipe.suite))"))
        let root = staging + "/root"
        try await run([
            "mmdebstrap", "--variant=minbase", "--mode=root", "--skip=download/empty", "--skip=cleanup/apt/cache",
            "--include=" + recipe.packages.joined(separator: ","),
            "--setup-hook=" + cacheIn,
            "--customize-hook=\(customize) \"$1\"",
            "--customize-hook=" + cacheOut,
            recipe.suite, root,
        ], log: log, environment: ["DEBIAN_FRONTEND": "noninteractive"])

        events(.phase(name: name, "making the disk"))
        // Hosts boot the cloud kernel (`vmlinuz`), light and quick under emulation; stealthy hosts
        // Debian's generic one (`vmlinuz-generic`), which has drivers for a real machine's SATA disk
        // and Intel card. An image with one kernel boots it as `vmlinuz`.
        let boot = (try? fileManager.contentsOfDirectory(atPath: root + "/boot")) ?? []
        let versions = boot.filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
            .filter { boot.contains("initrd.img-" + $0) }.sorted()
        let cloud = versions.last { $0.hasSuffix("-cloud-amd64") }
        let generic = versions.last { !$0.hasSuffix("-cloud-amd64") }
        guard let main = cloud ?? generic else {
            throw CommandFailure(command: "image \(name): no kernel and initrd in /boot (is linux-image-cloud-amd64 in its packages?)", status: 1, log: log)
        }
        let output = staging + "/out"
        try fileManager.createDirectory(atPath: output, withIntermediateDirectories: true)
        try fileManager.copyItem(atPath: root + "/boot/vmlinuz-" + main, toPath: output + "/vmlinuz")
        try fileManager.copyItem(atPath: root + "/boot/initrd.img-" + main, toPath: output + "/initrd.img")
        // A stealthy host boots `vmlinuz-generic`: an image whose one kernel is generic has it under both names.
        if let generic {
            try fileManager.copyItem(atPath: root + "/boot/vmlinuz-" + generic, toPath: output + "/vmlinuz-generic")
            try fileManager.copyItem(atPath: root + "/boot/initrd.img-" + generic, toPath: output + "/initrd-generic.img")
        }
        // Room for the packages' own data to grow; a host's `disk` grows it further (the seed
        // agent resizes the file system at boot).
        let used = try directoryBytes(root)
        let sizeMiB = (used + used / 4) / (1 << 20) + 512
        try await run(["mkfs.ext4", "-q", "-F", "-L", "decoynet-root", "-E", "root_owner=0:0", "-d", root, staging + "/disk.raw", "\(sizeMiB)M"], log: log)
        try? fileManager.removeItem(atPath: root)
        try await run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", staging + "/disk.raw", output + "/disk.qcow2"], log: log)
        try? fileManager.removeItem(atPath: staging + "/disk.raw")

        let diskBytes = (try? fileManager.attributesOfItem(atPath: output + "/disk.qcow2")[.size] as? NSNumber)??.uint64Value ?? 0
        let seconds = Date().timeIntervalSince(started)
        let manifest = ImageStore.Manifest(name: name, recipeDigest: RecipeDigest.of(recipe), builtAt: Self.timestamp(Date()),
                                           suite: recipe.suite, packages: recipe.packages, diskBytes: diskBytes, buildSeconds: (seconds * 10).rounded() / 10,
                                           holdsForTemplates: recipe.files.contains { $0.path == "/usr/local/sbin/decoynet-seed" })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: output + "/image.json"))
        try fileManager.copyItem(atPath: log, toPath: output + "/build.log")

        // The old image goes in one rename; QEMUs still running on it keep their open files.
        let target = store.folder(name)
        let old = staging + "/old"
        if fileManager.fileExists(atPath: target) { try fileManager.moveItem(atPath: target, toPath: old) }
        try fileManager.moveItem(atPath: output, toPath: target)
        try? fileManager.removeItem(atPath: staging)
        events(.built(name: name, seconds: seconds, diskBytes: diskBytes))
    }

    /// Puts the cached packages into the new root (hard links where the file system allows).
    /// Builds running at once share the cache: each copy holds its lock, and a package enters
    /// the cache under a temporary name and is renamed, so no build reads half a file.
    var cacheIn: String {
        let cache = quote(self.cache)
        return "mkdir -p \"$1\"/var/cache/apt/archives && flock \(cache)/.lock sh -c 'for f in \(cache)/*.deb; do [ -e \"$f\" ] || continue; "
            + "ln \"$f\" \"$0\"/var/cache/apt/archives/ 2>/dev/null || cp \"$f\" \"$0\"/var/cache/apt/archives/; done' \"$1\""
    }

    /// Keeps what apt downloaded for the next build, then empties the root's archive.
    var cacheOut: String {
        let cache = quote(self.cache)
        return "flock \(cache)/.lock sh -c 'for f in \"$0\"/var/cache/apt/archives/*.deb; do [ -e \"$f\" ] || continue; n=${f##*/}; "
            + "[ -e \(cache)/\"$n\" ] || { cp \"$f\" \(cache)/.\"$n\".part && mv \(cache)/.\"$n\".part \(cache)/\"$n\"; }; done' \"$1\" "
            + "&& rm -f \"$1\"/var/cache/apt/archives/*.deb"
    }

    private func writeFiles(_ recipe: ImageRecipe, into folder: String) throws {
        for file in recipe.files {
            let path = folder + file.path
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: path, contents: Data(file.contents)) else {
                throw CommandFailure(command: "write \(path)", status: 1, log: nil)
            }
            try FileManager.default.setAttributes([.posixPermissions: Int(file.mode, radix: 8) ?? 0o644], ofItemAtPath: path)
        }
    }

    /// The hook mmdebstrap runs on the finished root: the recipe's files, units and commands.
    func customizeScript(_ recipe: ImageRecipe, files: String) -> String {
        var lines = [
            "#!/bin/sh",
            "# Written by decoynet image build for \(recipe.name): runs once on the finished root file system.",
            "set -eu",
            "root=$1",
            "cp -a \(quote(files))/. \"$root\"/",
        ]
        if !recipe.services.isEmpty {
            lines.append("chroot \"$root\" systemctl enable " + recipe.services.map(quote).joined(separator: " "))
        }
        if !recipe.masked.isEmpty {
            lines.append("chroot \"$root\" systemctl mask " + recipe.masked.map(quote).joined(separator: " "))
        }
        lines += recipe.commands.map { "chroot \"$root\" /bin/sh -c " + quote($0) }
        lines.append("rm -rf \"$root\"/var/lib/apt/lists/* \"$root\"/var/log/*.log")
        return lines.joined(separator: "\n") + "\n"
    }

    private func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func directoryBytes(_ path: String) throws -> UInt64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: UInt64 = 0
        while let entry = enumerator.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + entry)
            if attributes?[.type] as? FileAttributeType == .typeRegular {
                total += (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
            }
        }
        return total
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
