#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// posix_spawn for the commands ssh_config makes keysmith run (ProxyCommand, Match exec,
/// KnownHostsCommand): `path` with `arguments` (the first is the command's own name) and
/// `actions`' descriptors, no signal blocked, and SIGPIPE, SIGCHLD, SIGHUP, SIGTERM and
/// SIGINT at their defaults whatever this thread's mask and dispositions are (ssh.c restores
/// SIGPIPE's default in its children; a blocked SIGCHLD hangs a shell's `wait`; the SIGHUP
/// that ends a ProxyCommand must be delivered). With `ownProcessGroup` the command leads a
/// process group of its own, so that what it started can be killed with it.
///
/// - Returns: the process id, or the error number posix_spawn returned.
func spawnConfiguredCommand(
    _ path: String,
    _ arguments: [String],
    actions: inout posix_spawn_file_actions_t,
    ownProcessGroup: Bool = false
) -> Result<pid_t, SpawnError> {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGCHLD, SIGHUP, SIGTERM, SIGINT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if ownProcessGroup {
        flags |= POSIX_SPAWN_SETPGROUP
        posix_spawnattr_setpgroup(&attributes, 0)
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))
    let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
}

/// Why posix_spawn failed: its error number, and strerror's text for messages.
struct SpawnError: Error {
    let code: Int32
    var text: String { String(cString: strerror(self.code)) }
}
