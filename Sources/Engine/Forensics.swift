import Digest
import Foundation
import LibvirtXML
import Observe

/// Where forensics finds its tools: the project's Python environment (Volatility 3, dissect), its
/// scripts (`forensics/`), the kernels' symbol tables, and folders of its own for results and scratch.
public struct ForensicsTools: Sendable {
    /// `DECOYNET_FORENSICS_STATE` moves it, as it moves `scripts/forensics-env.sh`'s environment.
    public static var defaultState: String {
        ProcessInfo.processInfo.environment["DECOYNET_FORENSICS_STATE"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/decoynet/forensics"
    }

    /// The tools as the CLI and the server find them: the project's `forensics/` folder, and the
    /// Python of `DECOYNET_FORENSICS_PYTHON` or of the project's environment.
    public static func found(scripts: String) -> ForensicsTools {
        ForensicsTools(scripts: scripts, python: ProcessInfo.processInfo.environment["DECOYNET_FORENSICS_PYTHON"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The Python of the project's forensics environment (`scripts/forensics-env.sh` makes it).
    public var python: String
    /// The folder holding `btf2isf.py` and `files.py`.
    public var scripts: String
    public var symbols: String
    /// Analyses already made, by the evidence's hashes (a sealed folder never changes).
    public var cache: String
    /// Where a disk is flattened to be read; each copy is removed after its analysis, and a killed
    /// analysis's by the next one.
    public var scratch: String

    public init(scripts: String, state: String = ForensicsTools.defaultState, python: String? = nil,
                symbols: String = SymbolTables.defaultDirectory) {
        self.scripts = scripts
        self.python = python ?? state + "/python/bin/python"
        self.symbols = symbols
        cache = state + "/cache"
        scratch = state + "/scratch"
    }

    /// Refuses clearly when the environment is missing, naming what makes it.
    func checkPython() throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Forensics.Failure(description: "the forensics tools are not installed (no \(python)): run scripts/forensics-env.sh, "
                + "which installs Volatility 3 and dissect into the project's own Python environment (make test and make images run it)")
        }
    }
}

/// A host's state seen from outside it, from a snapshot folder (`decoynet snapshot`) or a host's
/// folder of a reset's evidence: its processes, connections and kernel modules from its memory
/// image (Volatility 3, with the symbol table made from its kernel), and what its disk holds that
/// its base image does not (OBSERVE.md, "Forensics of a running host"). Nothing runs inside it.
public enum Forensics {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public enum View: String, Sendable, CaseIterable, Codable {
        case processes, connections, modules, files
    }

    public struct Process: Sendable, Codable, Equatable {
        public var pid: Int
        public var ppid: Int
        public var uid: Int?
        /// The name of `uid` in the disk's `/etc/passwd`, else the number.
        public var user: String
        public var name: String
        /// The command line from the process's memory; its name in brackets for a kernel thread.
        public var command: String
        public var started: String?
    }

    public struct Connection: Sendable, Codable, Equatable {
        public var `protocol`: String
        public var local: String
        public var remote: String
        public var state: String
        public var pid: Int
        public var process: String
    }

    public struct Module: Sendable, Codable, Equatable {
        public var name: String
        public var size: Int
    }

    public struct FileChange: Sendable, Codable, Equatable {
        public var path: String
        public var change: String
        public var type: String
        public var size: Int
        public var mode: String
        public var uid: Int
        public var user: String?
        public var mtime: String
        public var ctime: String
        public var sha256: String?
        public var baseSHA256: String?
        public var target: String?

        enum CodingKeys: String, CodingKey {
            case path, change, type, size, mode, uid, user, mtime, ctime, sha256, baseSHA256 = "base_sha256", target
        }

        /// Every key of the contract in every row: `sha256` is null where nothing was hashed.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(change, forKey: .change)
            try container.encode(type, forKey: .type)
            try container.encode(size, forKey: .size)
            try container.encode(mode, forKey: .mode)
            try container.encode(uid, forKey: .uid)
            try container.encode(user, forKey: .user)
            try container.encode(mtime, forKey: .mtime)
            try container.encode(ctime, forKey: .ctime)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(baseSHA256, forKey: .baseSHA256)
            try container.encodeIfPresent(target, forKey: .target)
        }
    }

    /// What one analysis found, as `--json` gives it.
    public enum Result: Sendable, Equatable {
        case processes([Process])
        case connections([Connection])
        case modules([Module])
        case files([FileChange])
    }

    /// The evidence of one host: a snapshot folder or one host's folder of a reset.
    public struct Source: Sendable, Equatable {
        public var folder: String
        public var memory: String?
        public var disk: String?
        public var host: String?
        public var environment: String?
        public var taken: Date?
        /// The kernel the host booted, from its definition (for its symbol table).
        public var kernel: String?
        public var addresses: [String]

        /// Reads the folder; refuses one that is neither kind, naming what it looked for.
        public static func open(_ path: String) throws -> Source {
            let folder = URL(fileURLWithPath: path).standardizedFileURL.path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw Failure(description: "no folder at \(path): give a snapshot's folder (decoynet snapshot prints it) or a host's folder of a reset's evidence")
            }
            func present(_ names: [String]) -> String? {
                names.map { folder + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
            }
            var source = Source(folder: folder, memory: present(["memory", "memory.raw"]), disk: present(["disk.qcow2", "overlay.qcow2"]), addresses: [])
            if let data = FileManager.default.contents(atPath: folder + "/snapshot.json") {
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                if let record = try? decoder.decode(SnapshotRecord.self, from: data) {
                    source.host = record.host
                    source.environment = record.environment
                    source.taken = record.taken
                }
            }
            if let data = FileManager.default.contents(atPath: folder + "/domain.xml") {
                let definition = String(decoding: data, as: UTF8.self)
                if let metadata = DomainMetadata(definition: definition) {
                    source.host = source.host ?? metadata.host
                    source.environment = source.environment ?? metadata.environment
                    source.addresses = metadata.interfaces.map(\.address).filter { !$0.isEmpty }
                }
                source.kernel = XMLElement.parse(definition)?.child("os")?.child("kernel")?.text
            }
            guard source.memory != nil || source.disk != nil else {
                throw Failure(description: "\(folder) holds neither a memory image (memory, memory.raw) nor a disk (disk.qcow2, overlay.qcow2): "
                    + "give a snapshot's folder or a host's folder of a reset's evidence (ENV-TIME/HOST)")
            }
            return source
        }
    }

    /// One analysis of one source, from the cache when the same sealed evidence was analysed before.
    public static func analyse(_ view: View, of source: Source, tools: ForensicsTools,
                               progress: @Sendable (String) -> Void = { _ in }) throws -> Result {
        try tools.checkPython()
        let key = cacheKey(view, source)
        let cached = key.map { tools.cache + "/" + $0 + ".json" }
        if let cached, let data = FileManager.default.contents(atPath: cached), let result = try? decode(view, data) { return result }
        let result: Result
        switch view {
        case .processes: result = .processes(try processes(source, tools: tools, progress: progress))
        case .connections: result = .connections(try connections(source, tools: tools, progress: progress))
        case .modules: result = .modules(try modules(source, tools: tools, progress: progress))
        case .files: result = .files(try files(source, tools: tools, progress: progress))
        }
        if let cached {
            try? FileManager.default.createDirectory(atPath: tools.cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let temporary = cached + ".tmp-\(getpid())"
            if (try? encode(result).write(to: URL(fileURLWithPath: temporary))) != nil { rename(temporary, cached) }
        }
        return result
    }

    /// The file events of a disk's changes, for the environment's timeline: at the moment the disk
    /// was frozen, on the host.
    public static func timelineEvents(_ changes: [FileChange], source: Source) -> [TimelineEvent] {
        guard let host = source.host, let taken = source.taken else { return [] }
        let endpoint = TimelineEvent.Endpoint(host: host, address: source.addresses.first ?? "")
        return changes.filter { $0.type != "dir" }.map {
            TimelineEvent(time: taken, network: nil, src: endpoint, dst: nil, detail: .file(path: $0.path, change: $0.change, sha256: $0.sha256))
        }
    }

    // MARK: - Memory

    static func processes(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws -> [Process] {
        let memory = try memoryImage(source, tools: tools, progress: progress)
        progress("processes: listing the tasks of \(memory)")
        let tasks = try volatility("linux.pslist.PsList", memory: memory, tools: tools)
        progress("processes: reading their command lines")
        let arguments = try volatility("linux.psaux.PsAux", memory: memory, tools: tools)
        var commands: [Int: String] = [:]
        for row in arguments {
            if let pid = integer(row["PID"]), let text = row["ARGS"] as? String { commands[pid] = text }
        }
        let names = (try? users(source, tools: tools)) ?? [:]
        return tasks.compactMap { row -> Process? in
            guard let pid = integer(row["PID"]), let tid = integer(row["TID"]), pid == tid else { return nil }
            let uid = integer(row["UID"])
            let name = row["COMM"] as? String ?? ""
            let kernelThread = integer(row["PPID"]) == 2 || pid == 2
            var command = commands[pid] ?? ""
            if command.isEmpty || kernelThread { command = "[\(name)]" }
            return Process(pid: pid, ppid: integer(row["PPID"]) ?? 0, uid: uid, user: uid.map { names[String($0)] ?? String($0) } ?? "?",
                           name: name, command: command, started: row["CREATION TIME"] as? String)
        }.sorted { $0.pid < $1.pid }
    }

    static func connections(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws -> [Connection] {
        let memory = try memoryImage(source, tools: tools, progress: progress)
        progress("connections: reading the sockets of \(memory)")
        let sockets = try volatility("linux.sockstat.Sockstat", memory: memory, tools: tools)
        var seen = Set<String>()
        return sockets.compactMap { row -> Connection? in
            guard let family = row["Family"] as? String, family == "AF_INET" || family == "AF_INET6" else { return nil }
            let proto = (row["Proto"] as? String ?? "").lowercased()
            func endpoint(_ address: String, _ port: String) -> String {
                let host = row[address] as? String ?? "?"
                let number = "\(row[port].map { "\($0)" } ?? "?")"
                return family == "AF_INET6" ? "[\(host)]:\(number)" : "\(host):\(number)"
            }
            let connection = Connection(protocol: proto.isEmpty ? "?" : proto, local: endpoint("Source Addr", "Source Port"),
                                        remote: endpoint("Destination Addr", "Destination Port"),
                                        state: row["State"] as? String ?? "", pid: integer(row["PID"]) ?? 0,
                                        process: row["Process Name"] as? String ?? "")
            // A socket shared by several descriptors or threads is one connection.
            return seen.insert("\(connection.pid) \(connection.protocol) \(connection.local) \(connection.remote)").inserted ? connection : nil
        }.sorted { ($0.pid, $0.local) < ($1.pid, $1.local) }
    }

    static func modules(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws -> [Module] {
        let memory = try memoryImage(source, tools: tools, progress: progress)
        progress("modules: reading the module list of \(memory)")
        return try volatility("linux.lsmod.Lsmod", memory: memory, tools: tools).compactMap { row in
            guard let name = row["Module Name"] as? String else { return nil }
            return Module(name: name, size: integer(row["Code Size"]) ?? 0)
        }.sorted { $0.name < $1.name }
    }

    /// The source's memory image, with the symbol table of its kernel made if it was missing.
    static func memoryImage(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws -> String {
        guard let memory = source.memory else {
            throw Failure(description: "\(source.folder) holds no memory image: the host was stopped when it was kept "
                + "(reset --evidence keeps memory with --memory, a snapshot always); only `files` reads a disk")
        }
        try symbolTable(source, tools: tools, progress: progress)
        return memory
    }

    /// Makes the symbol table of the host's kernel if it is missing and the kernel is still here.
    /// Volatility picks the table whose banner the memory holds, so an older table also serves.
    static func symbolTable(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws {
        guard let kernel = source.kernel, FileManager.default.fileExists(atPath: kernel) else { return }
        if try SymbolTables.ensure(kernel: kernel, directory: tools.symbols, scripts: tools.scripts) {
            progress("made the symbol table of \(kernel)")
        }
    }

    /// One Volatility 3 plugin's rows, as its JSON renderer gives them. Offline: no symbols are fetched.
    static func volatility(_ plugin: String, memory: String, tools: ForensicsTools) throws -> [[String: Any]] {
        try FileManager.default.createDirectory(atPath: tools.cache + "/volatility", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let ran = try ToolRun.run(tools.python, ["-c", "import sys; from volatility3.cli import main; sys.argv[0] = \"vol\"; main()", "--offline", "-q", "-r", "json", "-s", tools.symbols,
                                                 "--cache-path", tools.cache + "/volatility", "-f", memory, plugin])
        guard ran.status == 0, let rows = try? JSONSerialization.jsonObject(with: ran.output) as? [[String: Any]] else {
            let message = ran.errorText
            if message.contains("Unsatisfied requirement") || message.contains("symbol_table_name") {
                throw Failure(description: "no symbol table in \(tools.symbols) matches the kernel in \(memory): make it with "
                    + "decoynet image build (it makes one for each image's kernels), or keep the host's kernel where its domain.xml says")
            }
            throw Failure(description: "Volatility's \(plugin) failed on \(memory): " + lastLines(message))
        }
        return flatten(rows)
    }

    /// Volatility's JSON nests rows under `__children`; every level is a row.
    static func flatten(_ rows: [[String: Any]]) -> [[String: Any]] {
        rows.flatMap { row in [row] + flatten(row["__children"] as? [[String: Any]] ?? []) }
    }

    static func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: number.intValue
        case let text as String: Int(text)
        default: nil
        }
    }

    // MARK: - Disk

    static func files(_ source: Source, tools: ForensicsTools, progress: @Sendable (String) -> Void) throws -> [FileChange] {
        guard let disk = source.disk else {
            throw Failure(description: "\(source.folder) holds no disk (disk.qcow2 or overlay.qcow2): the host boots without one")
        }
        progress("files: comparing \(disk) with its base image")
        let ran = try ToolRun.run(tools.python, [tools.scripts + "/files.py", "changes", disk, "--scratch", scratchFolder(tools)])
        guard ran.status == 0 else { throw Failure(description: lastLines(ran.errorText)) }
        var changes: [FileChange] = []
        var names: [String: String] = [:]
        for line in String(decoding: ran.output, as: UTF8.self).split(separator: "\n") {
            let data = Data(line.utf8)
            if let change = try? JSONDecoder().decode(FileChange.self, from: data) {
                changes.append(change)
            } else if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let summary = object["summary"] as? [String: Any] {
                names = summary["users"] as? [String: String] ?? [:]
            }
        }
        return changes.map { change in
            var named = change
            named.user = names[String(change.uid)]
            return named
        }
    }

    static func users(_ source: Source, tools: ForensicsTools) throws -> [String: String] {
        guard let disk = source.disk else { return [:] }
        let ran = try ToolRun.run(tools.python, [tools.scripts + "/files.py", "users", disk, "--scratch", scratchFolder(tools)])
        guard ran.status == 0 else { return [:] }
        return (try? JSONSerialization.jsonObject(with: ran.output) as? [String: String]) ?? [:]
    }

    static func scratchFolder(_ tools: ForensicsTools) throws -> String {
        try FileManager.default.createDirectory(atPath: tools.scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return tools.scratch
    }

    static func lastLines(_ text: String) -> String {
        text.split(separator: "\n").suffix(3).joined(separator: "; ")
    }

    // MARK: - Cache

    /// The evidence's own SHA256SUMS (a sealed folder's hashes) and the view; nil when the folder
    /// has none, and is then analysed each time.
    static func cacheKey(_ view: View, _ source: Source) -> String? {
        guard let sums = FileManager.default.contents(atPath: source.folder + "/SHA256SUMS")
            ?? FileManager.default.contents(atPath: URL(fileURLWithPath: source.folder).deletingLastPathComponent().path + "/SHA256SUMS")
        else { return nil }
        let key = SHA256.hash(Array(sums) + Array("\u{0}\(source.folder)\u{0}\(view.rawValue)\u{0}\(toolsVersion)".utf8)).hexString
        return String(key.prefix(32)) + "-" + view.rawValue
    }

    /// Results made by other tools are made again: the Python packages' pins and this code's own
    /// revision of the analyses.
    static let toolsVersion = "2 volatility3-2.28.2 dissect.extfs-3.15"

    /// A result as the CLI's table and the server's page show it.
    public static func table(_ result: Result) -> (columns: [String], rows: [[String]]) {
        switch result {
        case let .processes(rows):
            (["PID", "PPID", "USER", "NAME", "COMMAND"], rows.map { ["\($0.pid)", "\($0.ppid)", $0.user, $0.name, $0.command] })
        case let .connections(rows):
            (["PROTO", "LOCAL", "REMOTE", "STATE", "PID", "PROCESS"], rows.map { [$0.protocol, $0.local, $0.remote, $0.state, "\($0.pid)", $0.process] })
        case let .modules(rows):
            (["NAME", "SIZE"], rows.map { [$0.name, ByteCount.text(UInt64(max($0.size, 0)))] })
        case let .files(rows):
            (["CHANGE", "PATH", "SIZE", "USER", "MTIME", "SHA256"], rows.map {
                [$0.change, $0.path + ($0.type == "dir" ? "/" : ""), $0.type == "file" ? "\($0.size)" : $0.type, $0.user ?? "\($0.uid)", $0.mtime, $0.sha256 ?? ""]
            })
        }
    }

    public static func encode(_ result: Result) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        switch result {
        case let .processes(rows): return try encoder.encode(rows)
        case let .connections(rows): return try encoder.encode(rows)
        case let .modules(rows): return try encoder.encode(rows)
        case let .files(rows): return try encoder.encode(rows)
        }
    }

    static func decode(_ view: View, _ data: Data) throws -> Result {
        let decoder = JSONDecoder()
        switch view {
        case .processes: return .processes(try decoder.decode([Process].self, from: data))
        case .connections: return .connections(try decoder.decode([Connection].self, from: data))
        case .modules: return .modules(try decoder.decode([Module].self, from: data))
        case .files: return .files(try decoder.decode([FileChange].self, from: data))
        }
    }
}

/// A tool run to its end, its output and errors read as they come (either may be large).
struct ToolRun {
    var status: Int32
    var output: Data
    var errors: Data

    var errorText: String { String(decoding: errors, as: UTF8.self) }

    /// Killed after `timeout` seconds (a tool that hangs must not hold the analyses of everyone).
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 900) throws -> ToolRun {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        let errorText = LockedData()
        let reader = Thread { errorText.set(errors.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorText.done { usleep(1000) }
        return ToolRun(status: process.terminationStatus, output: data, errors: errorText.data)
    }

    final class LockedData: @unchecked Sendable {
        private let lock = NSLock()
        private var value = Data()
        private var finished = false
        func set(_ data: Data) { lock.withLock { value = data; finished = true } }
        var data: Data { lock.withLock { value } }
        var done: Bool { lock.withLock { finished } }
    }
}

extension Forensics {
    /// Puts the disk's changes into the environment's timeline, once for each piece of evidence:
    /// a run going on then takes them into its own (they are dated when the disk was frozen).
    /// Nothing is written for evidence of an environment without a timeline, or without a date.
    @discardableResult
    public static func recordInTimeline(_ changes: [FileChange], source: Source, store: TimelineStore, tools: ForensicsTools) -> Int {
        guard FileManager.default.fileExists(atPath: store.folder), let key = cacheKey(.files, source) else { return 0 }
        // Every snapshot lists all that differs from the base: a change the timeline already has for
        // this host (from an earlier snapshot) is not told again.
        let known = Set(store.events().filter { $0.kind == .file }.compactMap { event -> String? in
            guard case let .file(path, change, sha256) = event.detail else { return nil }
            return "\(event.src?.host ?? "")\u{0}\(path)\u{0}\(change)\u{0}\(sha256 ?? "")"
        })
        let events = timelineEvents(changes, source: source).filter { event in
            guard case let .file(path, change, sha256) = event.detail else { return false }
            return !known.contains("\(event.src?.host ?? "")\u{0}\(path)\u{0}\(change)\u{0}\(sha256 ?? "")")
        }
        guard !events.isEmpty else { return 0 }
        let marker = tools.cache + "/" + key + ".timeline"
        try? FileManager.default.createDirectory(atPath: tools.cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // O_EXCL: of two analyses at once, one writes the events.
        let descriptor = Foundation.open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return 0 }
        close(descriptor)
        guard store.append(events) else {
            unlink(marker)
            return 0
        }
        return events.count
    }
}
