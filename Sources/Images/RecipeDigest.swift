import Digest
import Topology

/// The digest that decides whether an image must be rebuilt: everything the build reads from the
/// recipe chain (suite, packages, services, masks, files with their bytes and modes, commands),
/// and the builder's own version, in one canonical order.
public enum RecipeDigest {
    /// Raised when the way images are assembled changes, so every image is rebuilt once.
    public static let builderVersion = "decoynet-image-builder 1"

    public static func of(_ recipe: ImageRecipe) -> String {
        var hasher = SHA256()
        func field(_ name: String, _ values: [String]) {
            hasher.update(Array((name + "\u{0}" + values.joined(separator: "\u{0}") + "\u{1}").utf8))
        }
        field("builder", [builderVersion])
        field("suite", [recipe.suite])
        field("packages", recipe.packages)
        field("services", recipe.services)
        field("mask", recipe.masked)
        field("commands", recipe.commands)
        for file in recipe.files {
            field("file", [file.path, file.mode, String(file.contents.count)])
            hasher.update(file.contents)
        }
        return "sha256:" + hasher.finalize().hexString
    }
}
