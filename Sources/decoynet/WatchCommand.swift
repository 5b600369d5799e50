import ArgumentParser
import Engine
import Foundation
import Hypervisor
import Observe

extension TimelineEvent.Kind: ExpressibleByArgument {}

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print what happened on an environment's networks, seen from outside its hosts (its timeline).",
        discussion: """
        An environment with an internet host or with `observe` is watched from apply to destroy: \
        every network's packets are decoded into DNS lookups, connections, HTTP requests, logons \
        and mails. With --follow, events are printed as they come.
        """
    )

    @Argument(help: "The environment.") var environment: String
    @Option(name: .customLong("run"), help: ArgumentHelp("Only the part of one run (its folder's timeline).", valueName: "run")) var runID: String?
    @Flag(help: "Keep printing events as they come (Ctrl-C ends).") var follow = false
    @Flag(help: "One JSON object per line, as the timeline holds them.") var json = false
    @Option(help: ArgumentHelp("Only events of this kind (repeatable): \(TimelineEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var kind: [TimelineEvent.Kind] = []
    @Option(help: ArgumentHelp("Only events to or from this host (repeatable).", valueName: "host")) var host: [String] = []
    @Option(help: ArgumentHelp("Where timelines and runs are kept.", valueName: "dir")) var runs: String = TimelineStore.rootFromEnvironment

    func run() throws {
        let store = TimelineStore(root: runs, environment: environment)
        let filter = TimelineFilter(kinds: Set(kind), hosts: Set(host))
        let output = FileHandle.standardOutput
        func show(_ events: [TimelineEvent]) {
            let text = events.filter(filter.accepts).map { (json ? $0.jsonLine() : $0.summary) + "\n" }.joined()
            if !text.isEmpty { output.write(Data(text.utf8)) }
        }
        if let run = runID {
            let file = store.folder + "/" + run + "/timeline.jsonl"
            guard let data = FileManager.default.contents(atPath: file) else {
                Terminal.error("error: no run \(run) of \(environment) (no \(file))")
                throw ExitCode.failure
            }
            show(TimelineEvent.parse(lines: String(decoding: data, as: UTF8.self)))
            return
        }
        guard FileManager.default.fileExists(atPath: store.folder) else {
            Terminal.error("error: \(environment) has no timeline in \(runs): it is watched when its topology has an internet host or 'observe: true'")
            throw ExitCode.failure
        }
        let tail = TimelineTail(path: store.current, fromEnd: true)
        show(tail.history(store, filter: filter))
        guard follow else { return }
        signal(SIGPIPE, SIG_DFL)
        while true {
            show(tail.read())
            usleep(100_000)
        }
    }
}

/// The process that watches one environment (started by apply, stopped by destroy).
struct WatcherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watcher",
        abstract: "Decode an environment's captures into its timeline until stopped (apply starts it).",
        shouldDisplay: false
    )

    @Argument var environment: String
    @Option var runs: String = TimelineStore.rootFromEnvironment
    @Option(name: .customLong("connect"), help: "The libvirt URI through which the gateways' and the internet host's logs are read.")
    var uri: String?

    func run() throws {
        let store = TimelineStore(root: runs, environment: environment)
        guard let settings = store.watchSettings() else {
            Terminal.error("error: no watch settings at \(store.settings)")
            throw ExitCode.failure
        }
        let watcher = Watcher(settings: settings, store: store)
        // A tshark that ends (or fails) must not take the watcher with it through its pipe.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { watcher.stop() }
            source.resume()
            sources.append(source)
        }
        Terminal.error("decoynet watcher: watching \(environment) (\(settings.book.networks.count) networks) into \(store.current)")
        let logs = readLogs(settings, into: watcher)
        watcher.run()
        logs?.cancel()
        withExtendedLifetime(sources) {}
    }

    /// The gateways' and the internet host's logs, every 2 s, beside the packets (when the
    /// environment has them and libvirt answers; the packets are watched either way).
    func readLogs(_ settings: WatchSettings, into watcher: Watcher) -> Task<Void, Never>? {
        guard let uri, !settings.facts.loggedHosts.isEmpty else { return nil }
        let hypervisor: LibvirtHypervisor
        do {
            hypervisor = try LibvirtHypervisor(uri: uri, parallelism: 2)
        } catch {
            Terminal.error("decoynet watcher: the gateways' and the internet host's logs are not read: cannot connect to \(uri) (\(error)); "
                + "the packets are watched all the same. Is libvirtd running (make lab)?")
            return nil
        }
        let reader = GuestLogReader(exec: GuestExec(hypervisor: hypervisor), environment: environment, settings: settings) { line in
            Terminal.error("decoynet watcher: " + line)
        }
        Terminal.error("decoynet watcher: reading the logs of \(settings.facts.loggedHosts.joined(separator: ", "))")
        return Task.detached {
            while !Task.isCancelled {
                let (drops, events) = await reader.poll()
                if !drops.isEmpty { watcher.add(drops: drops) }
                if !events.isEmpty { watcher.add(logged: events) }
                try? await Task.sleep(nanoseconds: 2_000_000_000)
            }
        }
    }
}
