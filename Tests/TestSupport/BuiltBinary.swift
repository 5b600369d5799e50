import Foundation

/// Where the tests find what they exercise as a user would: the checkout and its built `decoynet`.
public enum BuiltBinary {
    /// The checkout's root (this file is `Tests/TestSupport/BuiltBinary.swift`).
    public static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `decoynet` beside the test bundle, in the same build products folder.
    public static let decoynet: String = {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0 ..< 3 {
            let candidate = folder.appendingPathComponent("decoynet").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return projectRoot + "/.build/debug/decoynet"
    }()
}
