#if canImport(Glibc)
import Glibc
#endif

/// A child process's signal state, made clean. A child inherits its parent thread's blocked
/// signals (Dispatch's threads block most) and ignored ones (DecoyNet ignores SIGPIPE): a daemon or
/// a capture started from such a thread would ignore the SIGTERM meant to stop it.
public enum ChildSignals {
    /// Sets `attributes` to start the child with no signal blocked and SIGPIPE, SIGTERM, SIGINT and
    /// SIGHUP at their defaults, with `flags` set beside.
    public static func reset(_ attributes: inout posix_spawnattr_t, flags: Int16 = 0) {
        posix_spawnattr_setflags(&attributes, flags | Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
    }
}
