import Compiler
import Foundation
import Hypervisor
import Observe

/// The watchers of observed environments: one process each, from apply to destroy, that decodes
/// the environment's captures into its timeline.
public protocol WatcherControl: Sendable {
    /// Starts the environment's watcher with these settings, or keeps the one running with them.
    /// Returns whether one was started.
    @discardableResult func ensure(environment: String, settings: WatchSettings) throws -> Bool
    /// Stops it and waits until it has written what it read.
    func stop(environment: String)
    func isRunning(environment: String) -> Bool
    /// The current file of the environment's timeline.
    func timeline(environment: String) -> String
}

extension AddressBook {
    /// The environment's networks and every host's addresses; its internet host stands for the outside.
    public init(_ environment: ResolvedEnvironment) {
        var hosts: [String: String] = [:]
        for host in environment.hosts {
            for interface in host.interfaces { hosts[interface.address.description] = host.name }
        }
        self.init(environment: environment.name,
                  networks: environment.networks.map { .init(name: $0.name, cidr: $0.cidr.description, bridgeAddress: $0.bridgeAddress.description) },
                  hosts: hosts, outsideHosts: environment.internetHost.map { [$0] } ?? [])
    }
}

/// `decoynet watcher ENV`, started detached like the captures, tracked by its pid beside the timeline.
public struct LocalWatchers: WatcherControl {
    /// The decoynet binary that runs `watcher`.
    public let executable: String
    public let root: String

    public init(executable: String, root: String = TimelineStore.rootFromEnvironment) {
        self.executable = executable
        self.root = root
    }

    struct Tracking: Codable {
        var pid: Int32
        var settings: WatchSettings
    }

    private func trackingFile(_ environment: String) -> String { TimelineStore(root: root, environment: environment).folder + "/watcher.json" }

    private func tracking(_ environment: String) -> Tracking? {
        guard let data = FileManager.default.contents(atPath: trackingFile(environment)),
              let tracking = try? JSONDecoder().decode(Tracking.self, from: data), LocalTrafficCapture.isAlive(tracking.pid) else { return nil }
        return tracking
    }

    public func isRunning(environment: String) -> Bool { tracking(environment) != nil }

    public func timeline(environment: String) -> String { TimelineStore(root: root, environment: environment).current }

    @discardableResult
    public func ensure(environment: String, settings: WatchSettings) throws -> Bool {
        if let running = tracking(environment) {
            if running.settings == settings { return false }
            stop(environment: environment)
        }
        let store = TimelineStore(root: root, environment: environment)
        try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(settings).write(to: URL(fileURLWithPath: store.settings))
        let pid = try LocalTrafficCapture.spawnDetached([executable, "watcher", environment, "--runs", root], log: store.watcherLog)
        try encoder.encode(Tracking(pid: pid, settings: settings)).write(to: URL(fileURLWithPath: trackingFile(environment)))
        return true
    }

    public func stop(environment: String) {
        guard let running = tracking(environment) else { return }
        kill(running.pid, SIGTERM)
        // It writes what it holds, then exits; a stuck one is killed.
        let deadline = Date().addingTimeInterval(10)
        while LocalTrafficCapture.isAlive(running.pid), Date() < deadline { usleep(50_000) }
        if LocalTrafficCapture.isAlive(running.pid) { kill(running.pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: trackingFile(environment))
    }
}
