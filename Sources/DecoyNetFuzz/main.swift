import Compiler
import Foundation
import Topology

// A libFuzzer target over the language's whole front end: YAML loading, decoding, validation,
// lowering and rendering of every document. Built only by `make fuzz` (scripts/fuzz.sh), with
// `-sanitize=fuzzer -DFUZZING`; an ordinary build makes a binary that says how to build it.

#if FUZZING
/// libFuzzer's own driver, called from this program's main so that SwiftPM's entry point stays.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// Every input is written to one file in a private folder on tmpfs and read back as a topology, as
/// a user's file would be; templates come from the project's own folder.
let scratch = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/decoynet-fuzz-\(getpid())"
let input = scratch + "/topology.yaml"
let projectTemplates = ProcessInfo.processInfo.environment["DECOYNET_FUZZ_TEMPLATES"]
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
atexit { try? FileManager.default.removeItem(atPath: "/dev/shm/decoynet-fuzz-\(getpid())") }

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let status = LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    guard FileManager.default.createFile(atPath: input, contents: data) else { return 0 }
    let result = Compiler.lower(path: input, projectTemplates: projectTemplates)
    if let environment = result.environment {
        _ = DocumentRenderer.render(environment, acceleration: .qemu)
    }
    return 0
}
exit(status)
#else
FileHandle.standardError.write(Data("decoynet-fuzz: built without libFuzzer; run `make fuzz` (scripts/fuzz.sh), which builds it with -sanitize=fuzzer\n".utf8))
exit(2)
#endif
