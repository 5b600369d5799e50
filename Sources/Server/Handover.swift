import Engine
import Foundation
import Observe

/// A copy given to another student keeps nothing of the one before: what it kept is moved out of
/// every listing into `.retired` folders beside it (for the instructor to read or remove), not lost.
enum Handover {
    /// Moves the environment's evidence folders, snapshots and timeline with its runs into
    /// `.retired/ENV-YYYYMMDDTHHMMSSZ/` of each folder. The retention removes them as it removes
    /// evidence, by the day they were retired; they count against no one's quota (the student who
    /// made them no longer has the copy, the new one did not make them).
    static func retire(_ environment: String, state: ServerState, now: Date = Date()) {
        // Named as a reset names its evidence, so the retention can tell when it was retired.
        let stamp = environment + "-" + TimelineEvent.basicTime(now)
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
