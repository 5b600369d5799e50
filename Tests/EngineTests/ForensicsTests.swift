@testable import Engine
import Foundation
import Hypervisor
import Naming
import Observe
import Testing
import TestSupport

/// Forensics without a guest: the evidence folders it reads, its refusals, its cache and timeline
/// events, and `forensics/files.py` on a real qcow2 chain holding ext4 (made here with mke2fs -d,
/// debugfs and qemu-img, nothing mounted). Volatility on real memory is the lab's (RunTests).
@Suite struct ForensicsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Missing: Error, CustomStringConvertible {
        var description: String { "the forensics tools are missing: run scripts/forensics-env.sh (make test does)" }
    }

    /// The project's forensics environment, as `make test` installs it.
    static func tools(state: String) throws -> ForensicsTools {
        let python = ProcessInfo.processInfo.environment["DECOYNET_FORENSICS_PYTHON"] ?? ForensicsTools.defaultState + "/python/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw Missing() }
        return ForensicsTools(scripts: root + "/forensics", state: state, python: python, symbols: state + "/symbols")
    }

    static func scratch() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("decoynet-forensics-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func aSnapshotFolderIsReadWithItsHostAndKernel() async throws {
        let hypervisor = try LibvirtHypervisor(uri: testURI, parallelism: 8)
        let name = uniqueName("fx")
        try await apply(SnapshotTests.topology(name), hypervisor: hypervisor)
        let definition = try await hypervisor.domainXML(name: Naming.object(environment: name, name: "a"))
        _ = try await destroy(name, hypervisor: hypervisor)
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(definition.utf8).write(to: URL(fileURLWithPath: folder + "/domain.xml"))
        FileManager.default.createFile(atPath: folder + "/memory", contents: Data("ELF".utf8))
        let record = #"{"host": "a", "taken": "2026-12-02T07:00:00Z", "paused_ms": 500, "memory_bytes": 3, "environment": "\#(name)", "domain": "\#(name)-a", "method": "pause"}"#
        try Data(record.utf8).write(to: URL(fileURLWithPath: folder + "/snapshot.json"))

        let source = try Forensics.Source.open(folder + "/")
        #expect(source.folder == folder && source.memory == folder + "/memory" && source.disk == nil)
        #expect(source.host == "a" && source.environment == name && source.kernel == "/boot/vmlinuz")
        #expect(source.taken == ISO8601DateFormatter().date(from: "2026-12-02T07:00:00Z"))

        // The disk is asked of a folder without one; memory of one without memory, by name.
        let tools = ForensicsTools(scripts: Self.root + "/forensics", state: folder + "/state", python: "/bin/true")
        #expect { try Forensics.analyse(.files, of: source, tools: tools) } throws: { "\($0)".contains("holds no disk") }
        try FileManager.default.removeItem(atPath: folder + "/memory")
        FileManager.default.createFile(atPath: folder + "/overlay.qcow2", contents: Data())
        let diskOnly = try Forensics.Source.open(folder)
        #expect { try Forensics.analyse(.processes, of: diskOnly, tools: tools) } throws: { "\($0)".contains("holds no memory image") }
    }

    @Test func foldersThatAreNotEvidenceAreRefusedClearly() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect { try Forensics.Source.open(folder + "/nothing") } throws: { "\($0)".contains("no folder at") }
        #expect { try Forensics.Source.open(folder) } throws: { "\($0)".contains("holds neither a memory image") }
        FileManager.default.createFile(atPath: folder + "/memory.raw", contents: Data())
        let tools = ForensicsTools(scripts: Self.root + "/forensics", state: folder + "/state", python: folder + "/no-python")
        #expect { try Forensics.analyse(.modules, of: try Forensics.Source.open(folder), tools: tools) } throws: {
            "\($0)".contains("run scripts/forensics-env.sh")
        }
    }

    @Test func volatilitysNestedRowsAreFlattened() {
        let rows: [[String: Any]] = [["PID": 1, "__children": [["PID": 2, "__children": [["PID": 3]]]]], ["PID": 4]]
        #expect(Forensics.flatten(rows).compactMap { Forensics.integer($0["PID"]) } == [1, 2, 3, 4])
        #expect(Forensics.integer("42") == 42 && Forensics.integer(NSNumber(value: 7)) == 7 && Forensics.integer(nil) == nil)
    }

    /// The cache is keyed by the evidence's own hashes: none without them; another view, another key.
    @Test func theCacheAndTheTimelineTakeEachEvidenceOnce() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/disk.qcow2", contents: Data())
        var source = try Forensics.Source.open(folder)
        #expect(Forensics.cacheKey(.files, source) == nil)
        try Data("abc  disk.qcow2\n".utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
        let key = try #require(Forensics.cacheKey(.files, source))
        #expect(key.hasSuffix("-files") && Forensics.cacheKey(.processes, source) != key && Forensics.cacheKey(.files, source) == key)

        source.host = "ws-01"
        source.taken = Date(timeIntervalSince1970: 1_800_000_000)
        source.addresses = ["10.1.1.2"]
        let changes = [
            Forensics.FileChange(path: "/home/t/.x", change: "added", type: "dir", size: 4096, mode: "0755", uid: 1000, mtime: "", ctime: ""),
            Forensics.FileChange(path: "/home/t/.x/a.bin", change: "added", type: "file", size: 3, mode: "0644", uid: 1000, mtime: "", ctime: "", sha256: "ab"),
        ]
        let events = Forensics.timelineEvents(changes, source: source)
        #expect(events.count == 1 && events[0].time == source.taken && events[0].src?.host == "ws-01" && events[0].src?.address == "10.1.1.2")
        #expect(events[0].detail == .file(path: "/home/t/.x/a.bin", change: "added", sha256: "ab"))

        let runs = folder + "/runs"
        let store = TimelineStore(root: runs, environment: "e")
        let tools = ForensicsTools(scripts: Self.root + "/forensics", state: folder + "/state", python: "/bin/true")
        #expect(Forensics.recordInTimeline(changes, source: source, store: store, tools: tools) == 0, "no timeline: nothing written")
        try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
        #expect(Forensics.recordInTimeline(changes, source: source, store: store, tools: tools) == 1)
        #expect(Forensics.recordInTimeline(changes, source: source, store: store, tools: tools) == 0, "once")
        #expect(store.events() == events)

        // The next snapshot of the host lists the same file again (all differs from the base): only
        // what is new reaches the timeline.
        try Data("def  disk.qcow2\n".utf8).write(to: URL(fileURLWithPath: folder + "/SHA256SUMS"))
        source.taken = Date(timeIntervalSince1970: 1_800_000_600)
        let later = changes + [Forensics.FileChange(path: "/home/t/.x/b.bin", change: "added", type: "file", size: 1, mode: "0644", uid: 1000,
                                                    mtime: "", ctime: "", sha256: "cd")]
        #expect(Forensics.recordInTimeline(later, source: source, store: store, tools: tools) == 1)
        #expect(store.events().count == 2 && store.events().last?.detail == .file(path: "/home/t/.x/b.bin", change: "added", sha256: "cd"))
    }

    /// The contract's keys are in every row of `files`, null where nothing was hashed.
    @Test func aDeletedFilesRowStillHasItsHashKey() throws {
        let row = Forensics.FileChange(path: "/etc/old", change: "deleted", type: "file", size: 5, mode: "0644", uid: 0, mtime: "m", ctime: "c")
        let object = try #require(try JSONSerialization.jsonObject(with: Forensics.encode(.files([row]))) as? [[String: Any]])
        #expect(object.first.map { $0.keys.contains("sha256") && $0["sha256"] is NSNull && $0["path"] as? String == "/etc/old" } == true, "\(object)")
        let keys: Set<String> = Set(object.first.map { Array($0.keys) } ?? [])
        #expect(keys.isSuperset(of: ["path", "change", "sha256", "mtime"]))
    }

    @Test func aFileThatIsNotAKernelGetsNoSymbolTable() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: folder + "/vmlinuz"))
        #expect { try SymbolTables.ensure(kernel: folder + "/vmlinuz", directory: folder + "/symbols", scripts: Self.root + "/forensics") } throws: {
            "\($0)".contains("cannot make the symbol table of \(folder)/vmlinuz")
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: folder + "/symbols/linux")) == [], "nothing half-written")
    }

    /// A base image and an overlay over it, changed as a guest would (a file added, one rewritten,
    /// one removed, one left alone): only the changes are listed, hashed, with owners' names.
    @Test func filesListsWhatTheOverlayChangedAndNothingElse() throws {
        let folder = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tools = try Self.tools(state: folder + "/state")
        try ForensicsFixture.makeDisks(in: folder)
        try FileManager.default.createDirectory(atPath: folder + "/evidence", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: folder + "/overlay.qcow2", toPath: folder + "/evidence/overlay.qcow2")

        let result = try Forensics.analyse(.files, of: try Forensics.Source.open(folder + "/evidence"), tools: tools)
        guard case let .files(changes) = result else { Issue.record("\(result)"); return }
        let byPath = Dictionary(changes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let implant = try #require(byPath["/home/tsato/implant.bin"], "\(changes)")
        let implantHash = try ForensicsFixture.sha256("implant\n")
        let motdHashes = (try ForensicsFixture.sha256("after, longer\n"), try ForensicsFixture.sha256("before\n"))
        #expect(implant.change == "added" && implant.type == "file" && implant.size == 8 && implant.user == "tsato"
            && implant.sha256 == implantHash)
        let motd = try #require(byPath["/etc/motd"])
        #expect(motd.change == "modified" && motd.sha256 == motdHashes.0 && motd.baseSHA256 == motdHashes.1)
        #expect(byPath["/etc/old"]?.change == "deleted" && byPath["/etc/old"]?.sha256 == nil)
        #expect(byPath["/usr/bin/tool"] == nil && byPath["/etc/passwd"] == nil, "unchanged files are not listed: \(changes.map(\.path))")
        #expect(changes.allSatisfy { $0.type != "dir" || $0.change != "modified" }, "a directory is listed only when added or deleted")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tools.scratch).isEmpty, "the flattened copy is gone")
    }
}
