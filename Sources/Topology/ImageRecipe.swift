import Diagnostics

/// A base image's recipe (`images/NAME.yaml`): a Debian suite, its packages, files and services,
/// built by `decoynet image build` into the image store. `extends` layers it on another recipe.
public struct ImageRecipe: Sendable, Equatable {
    public var name: String
    /// The recipe file, as given (diagnostics), and the folder its `source` paths resolve from.
    public var file: String
    public var description: String?
    public var suite: String
    /// The recipes it builds on, nearest first (`web-server` -> `[linux-server]`).
    public var ancestors: [String]
    /// Everything below is the whole chain's, ancestors first, duplicates dropped.
    public var packages: [String]
    public var services: [String]
    public var masked: [String]
    public var files: [RecipeFile]
    public var commands: [String]

    public static let defaultSuite = "bookworm"
}

/// A file put into the image: its bytes (a `source` is read when the recipe is loaded) and mode.
public struct RecipeFile: Sendable, Equatable {
    public var path: String
    public var contents: [UInt8]
    /// Octal, as chmod takes it.
    public var mode: String
}
