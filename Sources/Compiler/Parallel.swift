import Dispatch

/// Maps `items` on every core, keeping their order: rendering and writing thousands of documents
/// is independent work, and the libvirt documents are pure values.
func parallelMap<Item: Sendable, Result: Sendable>(_ items: [Item], _ transform: @Sendable (Item) -> Result) -> [Result] {
    if items.count < 64 { return items.map(transform) }
    let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: items.count)
    results.initialize(repeating: nil)
    defer { results.deinitialize().deallocate() }
    let slots = SendableBuffer(buffer: results)
    let chunks = min(items.count, System.coreCount * 4)
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let start = items.count * chunk / chunks
        let end = items.count * (chunk + 1) / chunks
        for index in start ..< end {
            slots.buffer[index] = transform(items[index])
        }
    }
    return results.map { $0! }
}

/// Distinct indices are written by distinct threads, and read only after all have finished.
private struct SendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
}

enum System {
    static let coreCount: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif
