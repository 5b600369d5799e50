import Compiler
import Digest
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
    /// After a destroy: the environment's timeline and runs moved aside (`ENV.destroyed-STAMP`),
    /// kept as the record, and no longer the name's (another environment of the same name, another
    /// tenant's perhaps, starts with none). Returns where they went.
    @discardableResult func archive(environment: String) -> String?
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

extension EnvironmentFacts {
    public init(_ environment: ResolvedEnvironment) {
        // The mail server: the first host with `smtp` that is not the internet.
        let mail = environment.hosts.first { host in host.name != environment.internetHost && host.services.contains { $0.name == "smtp" } }
        var owners: [String: String] = [:]
        for host in environment.hosts { if let owner = host.owner?.user { owners[host.name] = owner } }
        self.init(organization: environment.organization, domain: environment.domain,
                  people: environment.people.map { person in
                      Person(user: person.user, name: person.name, mail: environment.domain.map { person.user + "@" + $0 })
                  },
                  owners: owners, mailHost: mail?.name, mailAddress: mail?.interfaces.first?.address.description,
                  internetHost: environment.internetHost,
                  gateways: environment.hosts.filter { Firewall.enforces($0, in: environment) && !$0.stealth }.map(\.name))
    }
}

/// `decoynet watcher ENV`, started detached like the captures, tracked by its pid beside the timeline.
public struct LocalWatchers: WatcherControl {
    /// The decoynet binary that runs `watcher`.
    public let executable: String
    public let root: String
    /// The libvirt connection the watcher reads the infrastructure's logs through (its guest agents).
    public let uri: String?

    public init(executable: String, root: String = TimelineStore.rootFromEnvironment, uri: String? = nil) {
        self.executable = executable
        self.root = root
        self.uri = uri
    }

    /// The running watcher: its pid and a digest of its settings (not the settings themselves, so
    /// that a watcher started by an older DecoyNet is still found and stopped).
    struct Tracking: Codable {
        var pid: Int32
        var settings: String
    }

    static func digest(_ settings: WatchSettings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hash(Array((try? encoder.encode(settings)) ?? Data())).hexString
    }

    private func trackingFile(_ environment: String) -> String { TimelineStore(root: root, environment: environment).folder + "/watcher.json" }

    private func tracking(_ environment: String) -> Tracking? {
        guard let data = FileManager.default.contents(atPath: trackingFile(environment)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pid = (object["pid"] as? NSNumber)?.int32Value, LocalTrafficCapture.isAlive(pid) else { return nil }
        return Tracking(pid: pid, settings: object["settings"] as? String ?? "")
    }

    public func isRunning(environment: String) -> Bool { tracking(environment) != nil }

    public func timeline(environment: String) -> String { TimelineStore(root: root, environment: environment).current }

    @discardableResult
    public func ensure(environment: String, settings: WatchSettings) throws -> Bool {
        let digest = Self.digest(settings)
        if let running = tracking(environment) {
            if running.settings == digest { return false }
            stop(environment: environment)
        }
        let store = TimelineStore(root: root, environment: environment)
        try FileManager.default.createDirectory(atPath: store.folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(settings).write(to: URL(fileURLWithPath: store.settings))
        let pid = try LocalTrafficCapture.spawnDetached([executable, "watcher", environment, "--runs", root] + (uri.map { ["--connect", $0] } ?? []), log: store.watcherLog)
        try encoder.encode(Tracking(pid: pid, settings: digest)).write(to: URL(fileURLWithPath: trackingFile(environment)))
        return true
    }

    @discardableResult
    public func archive(environment: String) -> String? {
        let folder = TimelineStore(root: root, environment: environment).folder
        guard FileManager.default.fileExists(atPath: folder) else { return nil }
        let destination = folder + ".destroyed-" + TimelineEvent.basicTime(Date())
        try? FileManager.default.removeItem(atPath: folder + "/watcher.json")
        return (try? FileManager.default.moveItem(atPath: folder, toPath: destination)) == nil ? nil : destination
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
