import Engine
import Foundation
import Observe

/// A copy given to another student keeps nothing of the one before: what it kept is moved out of
/// every listing into `.retired` folders beside it (for the instructor to read or remove), not lost.
enum Handover {
    /// Moves the environment's evidence folders, snapshots and timeline with its runs into
    /// `.retired/ENV-TIME/` of each folder.
    static func retire(_ environment: String, state: ServerState, now: Date = Date()) {
        let stamp = environment + "-" + ISO8601DateFormatter().string(from: now).replacingOccurrences(of: ":", with: "")
        let fileManager = FileManager.default
        func move(_ names: [String], from folder: String) {
            guard !names.isEmpty else { return }
            let target = folder + "/.retired/" + stamp
            try? fileManager.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for name in names { try? fileManager.moveItem(atPath: folder + "/" + name, toPath: target + "/" + name) }
        }
        move(EvidenceFolder.list(in: state.evidenceDirectory, environment: environment), from: state.evidenceDirectory)
        move(ForensicsAPI.snapshots(of: environment, state: state).map(\.name), from: state.snapshotsDirectory)
        let timeline = TimelineStore(root: state.runsDirectory, environment: environment)
        if fileManager.fileExists(atPath: timeline.folder) { move([environment], from: state.runsDirectory) }
    }
}
