import ArgumentParser

@main
struct DecoyNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decoynet",
        abstract: "Compile a decoy-network topology into libvirt networks, domains and volumes.",
        version: "0.1.0",
        subcommands: [ValidateCommand.self, CompileCommand.self, GraphCommand.self]
    )
}
