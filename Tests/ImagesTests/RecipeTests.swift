import Foundation
import Testing
@testable import Images
@testable import Topology

private let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A scratch folder of recipe files.
private struct Folder {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-recipes-" + UUID().uuidString).path

    init(_ files: [String: String]) {
        for (name, contents) in files {
            let file = path + "/" + name
            try! FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try! contents.write(toFile: file, atomically: true, encoding: .utf8)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Diagnostics as `file:line:col: id`, the folder's path left out.
    func load() -> (RecipeLoader.Result, [String]) {
        let result = RecipeLoader.load(directory: path)
        return (result, result.diagnostics.map { "\($0.location.file.replacingOccurrences(of: path + "/", with: "")):\($0.location.line):\($0.location.column): \($0.id)" })
    }
}

@Suite struct RecipeTests {
    @Test func theProjectsRecipesLoadAndLayerOnLinuxServer() throws {
        let result = RecipeLoader.load(directory: projectRoot + "/images")
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.rendered))")
        #expect(Set(result.names).isSuperset(of: ["linux-server", "web-server", "mail-server", "dns-server", "proxy", "file-server",
                                                  "database", "router", "workstation"]))
        let web = try #require(result.recipes["web-server"])
        #expect(web.ancestors == ["linux-server"])
        #expect(web.packages.contains("openssh-server") && web.packages.last == "nginx-light")
        #expect(web.services.contains("decoynet-seed") && web.services.last == "nginx")
        let agent = try #require(web.files.first { $0.path == "/usr/local/sbin/decoynet-seed" })
        #expect(agent.mode == "0755")
        #expect(String(decoding: agent.contents, as: UTF8.self).hasPrefix("#!/bin/bash"))
        // Every image boots directly: each recipe chain installs the cloud kernel, Debian's generic kernel (drivers for a
        // stealthy host's SATA disk and Intel card, which the cloud kernel has not) and the guest agent.
        for recipe in result.recipes.values {
            #expect(recipe.packages.contains("linux-image-cloud-amd64") && recipe.packages.contains("linux-image-amd64") && recipe.packages.contains("qemu-guest-agent"), "\(recipe.name)")
        }
    }

    @Test func theDigestFollowsEverythingTheBuildReads() throws {
        let folder = Folder([
            "base.yaml": "packages: [openssh-server]\nfiles: [{ path: /etc/x, content: one }]\n",
            "web.yaml": "extends: base\npackages: [nginx-light]\n",
        ])
        defer { folder.remove() }
        let (first, _) = folder.load()
        let (again, _) = folder.load()
        let web = try #require(first.recipes["web"])
        #expect(RecipeDigest.of(web) == RecipeDigest.of(try #require(again.recipes["web"])))
        try "packages: [openssh-server]\nfiles: [{ path: /etc/x, content: two }]\n".write(toFile: folder.path + "/base.yaml", atomically: true, encoding: .utf8)
        let (changed, _) = folder.load()
        #expect(RecipeDigest.of(try #require(changed.recipes["web"])) != RecipeDigest.of(web))
        #expect(RecipeDigest.of(web).hasPrefix("sha256:"))
    }

    @Test func mistakesAreReportedWhereTheyAre() {
        let folder = Folder([
            "a.yaml": """
            suite: trixie
            packages: [nginx, Bad_Name]
            services: ["bad unit"]
            files:
              - { path: etc/x, content: y }
              - { path: /etc/y }
              - { path: /etc/z, source: nothere, mode: "999" }
            colour: blue
            """,
            "b.yaml": "extends: ngnix\n",
            "c.yaml": "extends: d\n",
            "d.yaml": "extends: c\n",
        ])
        defer { folder.remove() }
        let (result, found) = folder.load()
        #expect(found == [
            "a.yaml:1:8: unknown-suite",
            "a.yaml:2:19: invalid-package",
            "a.yaml:3:12: invalid-unit",
            "a.yaml:5:13: relative-file-path",
            "a.yaml:6:5: file-source",
            "a.yaml:7:29: unreadable-source",
            "a.yaml:7:44: invalid-mode",
            "a.yaml:8:1: unknown-key",
            "b.yaml:1:10: unknown-recipe",
            // A cycle is reported once, at the `extends` that closes it.
            "d.yaml:1:10: recipe-cycle",
        ])
        #expect(result.recipes.isEmpty)
    }

    @Test func theHookInstallsFilesUnitsAndCommands() throws {
        let folder = Folder(["r.yaml": "packages: [openssh-server]\nservices: [ssh]\nmask: [apt-daily.timer]\ncommands: [\"echo it's done\"]\n"])
        defer { folder.remove() }
        let recipe = try #require(folder.load().0.recipes["r"])
        let script = ImageBuilder(store: ImageStore(root: folder.path)).customizeScript(recipe, files: "/tmp/files")
        #expect(script.contains("cp -a '/tmp/files'/. \"$root\"/"))
        #expect(script.contains("chroot \"$root\" systemctl enable 'ssh'"))
        #expect(script.contains("chroot \"$root\" systemctl mask 'apt-daily.timer'"))
        #expect(script.contains("chroot \"$root\" /bin/sh -c 'echo it'\\''s done'"))
    }

    @Test func theStoreKnowsWhatIsBuilt() throws {
        let folder = Folder([
            "web/disk.qcow2": "d", "web/vmlinuz": "k", "web/initrd.img": "i",
            "web/image.json": #"{"name":"web","recipe_digest":"sha256:ab","built_at":"2026-11-28T00:00:00Z","suite":"bookworm","packages":[],"disk_bytes":1,"build_seconds":2}"#,
            "half/disk.qcow2": "d",
            "half/image.json": #"{"name":"half","recipe_digest":"sha256:ab","built_at":"x","suite":"bookworm","packages":[],"disk_bytes":1,"build_seconds":2}"#,
        ])
        defer { folder.remove() }
        let store = ImageStore(root: folder.path)
        #expect(store.builtNames() == ["web"])
        #expect(store.manifest("web")?.recipeDigest == "sha256:ab")
        #expect(store.manifest("half") == nil)
        #expect(try store.remove("web"))
        #expect(try !store.remove("web"))
        #expect(store.builtNames().isEmpty)
    }
}
