import Diagnostics

/// Every diagnostic of image recipes, in one place; `docs/images.md` explains each id.
public enum RecipeMessages {
    static func invalidRecipeName(_ name: String) -> Message {
        Message(id: "invalid-recipe-name", "recipe file name '\(name)' is not an image name (lowercase letters, digits and '-', starting with a letter)")
    }

    static func unknownParent(_ name: String, hint: String) -> Message {
        Message(id: "unknown-recipe", "recipe extends '\(name)', which is not a recipe in this folder\(hint)")
    }

    static func recipeCycle(_ chain: [String]) -> Message {
        Message(id: "recipe-cycle", "recipes extend each other in a cycle: \(chain.joined(separator: " -> "))")
    }

    static func unknownSuite(_ suite: String) -> Message {
        Message(id: "unknown-suite", "suite '\(suite)' is not a Debian suite this machine can build (expected 'bookworm')")
    }

    static func invalidPackage(_ name: String) -> Message {
        Message(id: "invalid-package", "'\(name)' is not a Debian package name")
    }

    static func invalidUnit(_ name: String) -> Message {
        Message(id: "invalid-unit", "'\(name)' is not a systemd unit name")
    }

    static func fileNeedsOneSource() -> Message {
        Message(id: "file-source", "a file needs exactly one of 'content' and 'source'")
    }

    static func unreadableSource(_ path: String) -> Message {
        Message(id: "unreadable-source", "cannot read '\(path)'")
    }

    static func relativeFilePath(_ path: String) -> Message {
        Message(id: "relative-file-path", "file path '\(path)' must be absolute")
    }

    static func invalidMode(_ mode: String) -> Message {
        Message(id: "invalid-mode", "mode '\(mode)' is not an octal file mode such as \"0644\"")
    }

    static func unknownImage(_ name: String, hint: String) -> Message {
        Message(id: "unknown-image-recipe", "no recipe named '\(name)'\(hint)")
    }
}
