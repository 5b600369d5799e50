import ArgumentParser

@main
struct DecoyNet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decoynet",
        abstract: "Build decoy networks of virtual machines from a topology file, in parallel, on libvirt.",
        version: "0.2.0",
        subcommands: [
            ValidateCommand.self, CompileCommand.self, GraphCommand.self,
            PlanCommand.self, ApplyCommand.self, ResetCommand.self, HealthCommand.self, StatusCommand.self, ListCommand.self,
            DestroyCommand.self, ImageCommand.self, ExecCommand.self, ConsoleCommand.self, SnapshotCommand.self, EvidenceCommand.self, ForensicsCommand.self, TestCommand.self, RunCommand.self, WatchCommand.self, ServeCommand.self, WatcherCommand.self,
        ]
    )
}
