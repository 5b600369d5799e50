import ArgumentParser
import Engine
import Foundation

/// `decoynet evidence`: the folders `reset --evidence` kept, what they take, whether they still
/// verify, and their removal.
struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "List, verify and remove the evidence folders that reset --evidence keeps.",
        subcommands: [List.self, Verify.self, Remove.self, Prune.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The evidence folders under a folder, oldest first, with what each takes on disk.")

        @Argument(help: ArgumentHelp("The folder given to reset --evidence.", valueName: "dir")) var directory: String
        @Option(help: ArgumentHelp("Only this environment's folders.", valueName: "env")) var environment: String?
        @Flag(help: "Print the list as JSON.") var json = false

        func run() throws {
            let folders = EvidenceStore.folders(in: directory, environment: environment)
            if json {
                struct Listed: Encodable {
                    var name: String, environment: String, created: String, bytes: UInt64
                }
                print(DiagnosticOutput.json(folders.map {
                    Listed(name: $0.name, environment: $0.environment, created: ISO8601DateFormatter().string(from: $0.created), bytes: $0.bytes)
                }))
            } else if folders.isEmpty {
                Terminal.error("no evidence folders in \(directory)\(environment.map { " for \($0)" } ?? "")")
            } else {
                print(Terminal.table(["FOLDER", "ENVIRONMENT", "CREATED", "SIZE"], folders.map {
                    [$0.name, $0.environment, ISO8601DateFormatter().string(from: $0.created), ByteCount.text($0.bytes)]
                }))
                Terminal.error("\(folders.count) folders, \(ByteCount.text(folders.reduce(0) { $0 + $1.bytes })) in all")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify", abstract: "Hash every file of an evidence folder against its SHA256SUMS; exit 1 on any mismatch.")

        @Argument(help: ArgumentHelp("An evidence folder (DIR/ENV-TIME).", valueName: "folder")) var folder: String
        @Flag(help: "Print every file's check as JSON.") var json = false

        func run() throws {
            guard EvidenceStore.isEvidenceFolder(folder) else { throw ValidationError("\(folder) is not an evidence folder (no manifest.json in it)") }
            let files: [EvidenceCheck]
            do {
                files = try EvidenceFolder.verify(folder).files
            } catch {
                Terminal.error("error: cannot verify \(folder): \(error)")
                throw ExitCode.failure
            }
            let failed = files.filter { !$0.verified }
            if json {
                print(DiagnosticOutput.json(files))
            } else {
                for file in failed { Terminal.error("MISMATCH \(file.path)") }
                print("\(files.count - failed.count) of \(files.count) files verify against \(folder)/SHA256SUMS")
            }
            if !failed.isEmpty { throw ExitCode.failure }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove evidence folders for good (each must hold a manifest.json).")

        @Argument(help: ArgumentHelp("Evidence folders (DIR/ENV-TIME).", valueName: "folder")) var folders: [String]

        func validate() throws {
            if folders.isEmpty { throw ValidationError("name the evidence folders to remove (decoynet evidence list DIR shows them)") }
        }

        func run() throws {
            // All checked before any is removed: a typo in the third name leaves the first two.
            for folder in folders where !EvidenceStore.isEvidenceFolder(folder) {
                throw ValidationError("\(folder) is not an evidence folder (a folder with a manifest.json, as reset --evidence makes): nothing removed")
            }
            for folder in folders {
                let bytes = EvidenceStore.bytes(of: folder)
                try EvidenceStore.remove(folder)
                print("removed \(folder) (\(ByteCount.text(bytes)))")
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove the evidence folders older than some days.")

        @Argument(help: ArgumentHelp("The folder given to reset --evidence.", valueName: "dir")) var directory: String
        @Option(help: ArgumentHelp("Remove folders whose reset began more than this many days ago.", valueName: "days")) var olderThan: Int
        @Option(help: ArgumentHelp("Only this environment's folders.", valueName: "env")) var environment: String?

        func validate() throws {
            if olderThan < 0 { throw ValidationError("--older-than takes whole days from 0") }
        }

        func run() throws {
            let pruned = EvidenceStore.prune(in: directory, before: Date().addingTimeInterval(-Double(olderThan) * 86400), environment: environment)
            for folder in pruned.removed { print("removed \(directory)/\(folder.name) (\(ByteCount.text(folder.bytes)))") }
            for (folder, problem) in pruned.failed { Terminal.error("error: \(directory)/\(folder.name) not removed: \(problem)") }
            Terminal.error("\(pruned.removed.count) folders removed, \(ByteCount.text(pruned.removed.reduce(0) { $0 + $1.bytes })) freed")
            if !pruned.failed.isEmpty { throw ExitCode.failure }
        }
    }
}
