import ArgumentParser
import Compiler
import Diagnostics
import Engine
import Foundation
import Hypervisor
import Planner
import Topology

/// `--instances N` and `--instance NAME`: copies of the topology, each its own environment.
struct InstanceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Build N isolated copies, ENV-i1 ... ENV-iN, each in its own address space.", valueName: "n"))
    var instances: CopyCount?

    @Option(help: ArgumentHelp("Build one named copy, ENV-NAME.", valueName: "name"))
    var instance: String?

    func validate() throws {
        if instances != nil, instance != nil { throw ValidationError("--instances and --instance exclude each other.") }
        if instances == .all {
            throw ValidationError("--instances all names copies that exist; this verb builds from the topology: give a number, 1 to 200.")
        }
        if case let .count(number) = instances, !(1 ... 200).contains(number) { throw ValidationError("--instances must be 1 to 200.") }
        if let instance, !InstanceSelector.isValidName(instance) {
            throw ValidationError("--instance takes lowercase letters and digits, at most 10.")
        }
        if let instance, instance.first == "i", instance.dropFirst().allSatisfy(\.isNumber), instance.count > 1 {
            throw ValidationError("--instance \(instance): names i1, i2 ... are those of --instances copies; choose another name.")
        }
    }

    var selectors: [InstanceSelector?] {
        if case let .count(number) = instances { return (1 ... number).map { .number($0) } }
        if let instance { return [.name(instance)] }
        return [nil]
    }
}
