import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import Synchronization

/// Files served from disk without holding them in memory: an evidence folder's memory image or
/// packet capture can be gigabytes, and a classroom has thirty people downloading. The body is read
/// in chunks as the client takes it; `Range: bytes=...` (one range) is answered with that part,
/// so an interrupted download goes on where it stopped.
enum Downloads {
    /// Chunks of this size are read from disk and handed to the connection, one at a time.
    static let chunk = 128 * 1024

    static let files = FileIO()

    /// The file at `path` as an answer to `request`: 200 with all of it, 206 with the range asked
    /// for, 416 when that range lies past its end. `slot` is let go once the body is written or
    /// dropped.
    static func response(_ path: String, type: String, attachment name: String? = nil, request: Request, context: some RequestContext,
                         slot: HeavySlot? = nil) async throws -> Response {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ServerError.notFound(URL(fileURLWithPath: path).lastPathComponent)
        }
        let size = Int(info.st_size)
        let tag = etag(info)
        var headers: HTTPFields = [.contentType: type, .acceptRanges: "bytes", .cacheControl: "no-store", .eTag: tag]
        if let name {
            let safe = name.filter { $0.isLetter || $0.isNumber || ".-_".contains($0) }
            headers[.contentDisposition] = "attachment; filename=\"\(safe)\""
        }
        var status = HTTPResponse.Status.ok
        var range = size == 0 ? nil : 0 ... size - 1
        // A range of the file as it was when the client began (`If-Range` with this tag), or else all
        // of it: a resumed download of a timeline that grew since must not join two versions.
        if let asked = request.headers[.range], Self.rangeApplies(ifRange: request.headers[.ifRange], tag: tag) {
            switch Self.range(asked, size: size) {
            case .whole: break
            case let .part(part):
                status = .partialContent
                range = part
                headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
        }
        guard let range else { return Response(status: status, headers: headers, body: ResponseBody()) }
        let body = try await files.loadFile(path: path, range: range, context: context, chunkLength: chunk)
        guard let slot else { return Response(status: status, headers: headers, body: body) }
        // The slot goes with the body: freed when it is written, or when a dropped connection drops it.
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: body.contentLength) { writer in
            defer { slot.release() }
            try await body.write(writer)
        })
    }

    /// A strong tag of the file as it is now: its device, inode, size and modification time to the
    /// nanosecond (a file rewritten in place within one second still gets a new one).
    static func etag(_ info: stat) -> String {
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return "\"" + [UInt64(info.st_dev), UInt64(info.st_ino), UInt64(info.st_size), UInt64(bitPattern: modified)].map { String($0, radix: 16) }.joined(separator: "-") + "\""
    }

    /// Whether a `Range` is to be honoured under `If-Range` (RFC 9110, 13.1.5): with no `If-Range`,
    /// or one that is this very tag (compared strongly: a weak tag or a date never matches, since
    /// the server sends neither).
    static func rangeApplies(ifRange: String?, tag: String) -> Bool {
        guard let ifRange else { return true }
        return ifRange.trimmingCharacters(in: .whitespaces) == tag
    }

    enum Requested: Equatable {
        case whole
        case part(ClosedRange<Int>)
        case unsatisfiable
    }

    /// A `Range` header's one byte range within `size` bytes (RFC 9110, 14.1.2): `bytes=A-B`,
    /// `bytes=A-` or `bytes=-N` (the last N). Several ranges, other units or a malformed header are
    /// answered with the whole file, as the RFC allows a server to.
    static func range(_ header: String, size: Int) -> Requested {
        let value = header.trimmingCharacters(in: .whitespaces)
        // The unit's name is case-insensitive.
        guard value.lowercased().hasPrefix("bytes="), !value.contains(",") else { return .whole }
        let spec = value.dropFirst("bytes=".count)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return .whole }
        // Digits beyond Int are as far past the end as a range can be.
        func number(_ text: String) -> Int? { text.isEmpty ? nil : (Int(text) ?? Int.max) }
        switch (number(parts[0]), number(parts[1])) {
        case let (first?, last):
            // A last position before the first makes the range invalid: ignored, not unsatisfiable.
            if let last, last < first { return .whole }
            guard first < size else { return .unsatisfiable }
            return .part(first ... min(last ?? size - 1, size - 1))
        case let (nil, suffix?):
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .part(max(0, size - suffix) ... size - 1)
        case (nil, nil):
            return .whole
        }
    }
}

/// How many heavy requests (downloads, hashing a folder's files) each user has under way, bounded:
/// one user's thirty parallel downloads cannot take the disk and the threads from everyone else.
final class HeavyRequests: Sendable {
    let perUser: Int
    private let running = Mutex<[String: Int]>([:])

    init(perUser: Int = 4) {
        self.perUser = perUser
    }

    /// A slot for `user`, or 429 when they have `perUser` under way.
    func enter(_ user: String) throws -> HeavySlot {
        let taken = running.withLock { running -> Bool in
            guard running[user, default: 0] < perUser else { return false }
            running[user, default: 0] += 1
            return true
        }
        guard taken else {
            throw ServerError(status: .tooManyRequests, message: "\(perUser) downloads or verifications of yours are under way: wait for one to end", retryAfter: 5)
        }
        return HeavySlot { [self] in
            running.withLock { running in
                let left = running[user, default: 1] - 1
                running[user] = left > 0 ? left : nil
            }
        }
    }

    func count(_ user: String) -> Int { running.withLock { $0[user, default: 0] } }
}

/// One heavy request's place, given back once: by `release()`, or when the last holder lets go of it.
final class HeavySlot: Sendable {
    private let giveBack: Mutex<(@Sendable () -> Void)?>

    init(_ giveBack: @escaping @Sendable () -> Void) {
        self.giveBack = Mutex(giveBack)
    }

    func release() {
        giveBack.withLock { giveBack in
            giveBack?()
            giveBack = nil
        }
    }

    deinit { release() }
}
