import ArgumentParser
import Engine
import Foundation
import Observe

extension RunEnd: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a sample in an environment: deliver it, open it, watch the network until it calls home, then keep or reset.",
        discussion: """
        With --to, the sample is mailed as an attachment from outside, over SMTP from the environment's \
        internet host to the person's mailbox; with --open it is also opened as that person on the first \
        host they own. With --on, it is placed in the Downloads of the host's owner. The network is \
        watched from outside (the environment's timeline) until --until's end or --for's time; then \
        --then reset resets the opened hosts with evidence. Everything is kept in the run's folder \
        (sample, mail.eml, timeline.jsonl, pcap/, reset/, stix.json, run.json, SHA256SUMS), sealed.
        Exit status: 0 when the run ended, 1 when delivery or opening failed, 2 on bad input (nothing \
        delivered), 130 when interrupted.
        """
    )

    @Argument(help: "The environment (applied, with an internet host or 'observe').") var environment: String
    @Option(help: ArgumentHelp("The sample file (64 MiB at most).", valueName: "file")) var sample: String
    @Option(help: ArgumentHelp("Mail it to this person (their user).", valueName: "user")) var to: String?
    @Option(help: ArgumentHelp("Place it on this host instead.", valueName: "host")) var on: String?
    @Option(help: ArgumentHelp("The mail's subject.", valueName: "text")) var subject: String?
    @Flag(help: "Open it as the person: on their workstation (with --to) or on the host.") var open = false
    @Option(help: ArgumentHelp("End at the first call home (c2), move to another host (lateral), or quiet:DURATION.", valueName: "end"))
    var until: RunEnd?
    @Option(name: .customLong("for"), help: ArgumentHelp("The longest the run lasts (30m, 90s, 2h).", valueName: "duration")) var duration = "30m"
    @Option(help: ArgumentHelp("Afterwards: keep (leave everything running) or reset (the opened hosts, with evidence).", valueName: "keep|reset"))
    var then = "keep"
    @Option(help: ArgumentHelp("Keep the run's folder under this folder.", valueName: "dir")) var evidence: String?
    @Flag(help: "Print run.json when the run ends.") var json = false
    @Option(help: ArgumentHelp("Where timelines and runs are kept.", valueName: "dir")) var runs: String = TimelineStore.rootFromEnvironment
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try checkEnvironmentName(environment)
        guard (to == nil) != (on == nil) else { throw ValidationError("Give one of --to USER (mailed) or --on HOST (placed).") }
        guard RunEnd.seconds(duration).map({ $0 > 0 }) == true else { throw ValidationError("--for takes a duration such as 30m, 90s or 2h.") }
        guard ["keep", "reset"].contains(then) else { throw ValidationError("--then is keep or reset.") }
        if then == "reset", !open { throw ValidationError("--then reset resets the hosts the sample was opened on: give --open too.") }
    }

    func run() async throws {
        let operations = try openOperations(connection)
        let request = InfectionRun.Request(
            environment: environment, sample: URL(fileURLWithPath: sample).standardizedFileURL.path, to: to, on: on, subject: subject, open: open,
            until: until, duration: RunEnd.seconds(duration) ?? 1800, thenReset: then == "reset",
            directory: evidence.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        let quiet = json
        let cancellation = Cancellation()
        let interruption = Interruption {
            cancellation.cancel()
            Terminal.error("\ninterrupted: the run ends now and its folder is written.")
        }
        defer { withExtendedLifetime(interruption) {} }
        let record: InfectionRun.Record
        do {
            record = try await operations.run(request, runs: runs, cancellation: cancellation) { progress in
                guard !quiet else { return }
                switch progress {
                case let .info(line): Terminal.error(line)
                case let .event(event): print(event.summary)
                case let .milestone(milestone):
                    Terminal.error("milestone \(milestone.name) at \(TimelineEvent.timeText(milestone.time))" + (milestone.event.map { ": " + $0.summary } ?? ""))
                }
            }
        } catch let failure as InfectionRun.Failure {
            Terminal.error("error: \(failure)")
            if case .badInput = failure {
                Terminal.error("nothing was delivered")
                throw ExitCode(2)
            }
            throw ExitCode.failure
        } catch {
            Terminal.error("error: \(error)")
            throw ExitCode.failure
        }
        if json {
            print(DiagnosticOutput.json(record))
        } else {
            Terminal.error("run \(record.id): ended by \(record.endedBy); its folder is \(record.folder)")
        }
        if record.endedBy == "interrupted" { throw ExitCode(130) }
    }
}
