import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected stream socket that an ``SSHClient`` runs over instead of a TCP connection of
/// its own: one end of a socketpair whose other end is served by a ProxyCommand
/// (``proxyCommand(_:shell:)``) or by a jump host's `direct-tcpip` tunnel
/// (``SSHClient/openTunnel(host:port:)``).
///
/// The client that connects over it owns it: closing that client closes the socket and
/// releases what serves it (the command is killed and reaped, the relay thread ends and is
/// joined, which closes the jump host's connection in turn).
public final class SSHByteStream: Sendable {
    /// What serves the stream, for messages: `ProxyCommand 'nc host 22'`, `the jump host bastion:22`.
    public let label: String
    /// Seconds a connection over the stream waits for the server's version line (ssh's
    /// ConnectTimeout, which bounds that wait too); nil leaves it to the idle timeout.
    let versionTimeout: Double?
    private let descriptor: Mutex<Int32>
    private let released = Mutex(false)
    private let beforeClose: @Sendable () -> Void
    private let onRelease: @Sendable () -> Void
    private let diagnose: @Sendable () -> SSHProtocolError?

    /// - Parameter beforeClose: Run before the socket is closed (a command is ended first,
    ///   so it is not left writing to a socket whose reader went away).
    init(
        descriptor: Int32,
        label: String,
        versionTimeout: Double?,
        beforeClose: @escaping @Sendable () -> Void = {},
        onRelease: @escaping @Sendable () -> Void,
        diagnose: @escaping @Sendable () -> SSHProtocolError?
    ) {
        self.descriptor = Mutex(descriptor)
        self.label = label
        self.versionTimeout = versionTimeout
        self.beforeClose = beforeClose
        self.onRelease = onRelease
        self.diagnose = diagnose
    }

    /// What must happen before the connection over the stream closes its socket.
    func prepareClose() { self.beforeClose() }

    deinit { self.release() }

    /// Hands the socket over to the connection that will run over it.
    func takeDescriptor() -> Int32 {
        self.descriptor.withLock { fd in
            defer { fd = -1 }
            return fd
        }
    }

    /// Closes the socket if nobody took it, and releases what serves it; once.
    func release() {
        let first = self.released.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        let fd = self.takeDescriptor()
        if fd >= 0 {
            self.beforeClose()
            _ = close(fd)
        }
        self.onRelease()
    }

    /// `error`, from a connection over this stream, told in the words of what serves it:
    /// the jump host's own failure, or the command's exit, when one of them broke it.
    func explain(_ error: SSHProtocolError) -> SSHProtocolError {
        if let cause = self.diagnose() { return cause }
        if error.message.contains(self.label) { return error }
        return SSHProtocolError(error.code, "\(error.message) (through \(self.label))")
    }

    /// Runs `command` as ssh's ProxyCommand does (sshconnect.c `ssh_proxy_connect`): through
    /// the user's shell as `exec COMMAND` (`$SHELL -c`, `/bin/sh` when SHELL is unset or
    /// empty), its standard input and output the stream, its standard error keysmith's.
    /// `command` has its `%` tokens expanded already.
    ///
    /// - Parameter connectTimeout: ConnectTimeout when one is set: how long the command may
    ///   take before the server's version line comes through it (a command that asks for a
    ///   password may take long, so by default only the idle timeout bounds it).
    /// - Throws: `.connectionFailed` when the socketpair or the process cannot be made.
    public static func proxyCommand(
        _ command: String,
        shell: String? = nil,
        connectTimeout: Double? = nil
    ) throws(SSHProtocolError) -> SSHByteStream {
        let label = "ProxyCommand '\(command)'"
        let (ours, child) = try Self.spawn(command, shell: shell, label: label)
        _ = fcntl(ours, F_SETFL, fcntl(ours, F_GETFL, 0) | O_NONBLOCK)
        return SSHByteStream(
            descriptor: ours,
            label: label,
            versionTimeout: connectTimeout,
            // A command still writing when its reader closed a socket holding unread data
            // gets ECONNRESET and may say so on stderr ("yes: standard output: Connection
            // reset by peer"); ssh ends its ProxyCommand with SIGHUP before it exits.
            beforeClose: { child.end() },
            onRelease: { child.end() },
            diagnose: {
                guard let status = child.exitStatus(waiting: .milliseconds(300)) else { return nil }
                return SSHProtocolError(.connectionFailed, "the \(label) \(status) before the connection was made")
            }
        )
    }

    /// Runs `command` as ssh's ProxyCommand with ProxyUseFdpass (sshconnect.c
    /// `ssh_proxy_fdpass_connect`): started as ``proxyCommand(_:shell:connectTimeout:)``
    /// starts it, it passes a connected socket back over its standard output (one byte
    /// carrying an SCM_RIGHTS message, monitor_fdpass.c `mm_receive_fd`), and is reaped;
    /// the stream is that socket.
    ///
    /// ssh waits for ever for the descriptor and for the command to exit; keysmith waits
    /// ConnectTimeout (60 seconds when none is set) for each, then ends the command.
    /// - Throws: `.connectionFailed` when the command ends or the time passes without a
    ///   descriptor ("did not pass back a connection"), or cannot be run.
    public static func proxyCommandPassingDescriptor(
        _ command: String,
        shell: String? = nil,
        connectTimeout: Double? = nil
    ) throws(SSHProtocolError) -> SSHByteStream {
        let label = "ProxyCommand '\(command)'"
        let (ours, child) = try Self.spawn(command, shell: shell, label: label)
        defer { _ = close(ours) }
        let limit = connectTimeout ?? 60
        let end = ContinuousClock.now + .seconds(limit)
        func failure(_ why: String) -> SSHProtocolError {
            let status = child.exitStatus(waiting: .milliseconds(300))
            child.end()
            let ending = status.map { ", and \($0)" } ?? ""
            return SSHProtocolError(
                .connectionFailed,
                "the \(label) did not pass back a connection (ProxyUseFdpass)\(why)\(ending)"
            )
        }
        while true {
            let remaining = end - ContinuousClock.now
            guard remaining > .zero else { throw failure(" within \(Int(limit.rounded(.up))) seconds") }
            var pfd = pollfd(fd: ours, events: Int16(POLLIN), revents: 0)
            let rc = poll(&pfd, 1, milliseconds(remaining))
            if rc > 0 { break }
            if rc < 0 && errno != EINTR { throw failure(": \(errnoText())") }
        }
        guard let received = Self.receiveDescriptor(ours) else { throw failure("") }
        // sshconnect.c waits for the command once it has passed the socket.
        if child.exitStatus(waiting: .seconds(limit)) == nil { child.end() }
        _ = fcntl(received, F_SETFD, FD_CLOEXEC)
        _ = fcntl(received, F_SETFL, fcntl(received, F_GETFL, 0) | O_NONBLOCK)
        return SSHByteStream(
            descriptor: received,
            label: label,
            versionTimeout: connectTimeout,
            onRelease: {},
            diagnose: { nil }
        )
    }

    /// monitor_fdpass.c `mm_receive_fd`: one byte whose control message is SCM_RIGHTS with
    /// one descriptor; nil for end of file, an error, or a message without a descriptor.
    private static func receiveDescriptor(_ socket: Int32) -> Int32? {
        // <sys/socket.h> CMSG_SPACE(sizeof(int)): the header, then the int, each aligned.
        let align = MemoryLayout<Int>.size
        let headerSize = (MemoryLayout<cmsghdr>.size + align - 1) & ~(align - 1)
        let space = headerSize + ((MemoryLayout<Int32>.size + align - 1) & ~(align - 1))
        var control = [UInt64](repeating: 0, count: (space + 7) / 8)
        var byte: UInt8 = 0
        let n: Int = withUnsafeMutablePointer(to: &byte) { bytePointer in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = .init(space)
                    var n: Int
                    repeat {
                        n = recvmsg(socket, &message, Int32(MSG_CMSG_CLOEXEC))
                    } while n < 0 && (errno == EINTR || errno == EAGAIN)
                    guard n == 1, Int(message.msg_controllen) >= headerSize + MemoryLayout<Int32>.size else {
                        return -1
                    }
                    return n
                }
            }
        }
        guard n == 1 else { return nil }
        return control.withUnsafeBytes { raw -> Int32? in
            let header = raw.loadUnaligned(as: cmsghdr.self)
            guard header.cmsg_level == SOL_SOCKET, header.cmsg_type == Int32(SCM_RIGHTS) else { return nil }
            let fd = raw.loadUnaligned(fromByteOffset: headerSize, as: Int32.self)
            return fd >= 0 ? fd : nil
        }
    }

    /// Starts `$SHELL -c "exec COMMAND"` with its standard input and output one end of a
    /// socketpair; returns the other end and the process.
    private static func spawn(
        _ command: String,
        shell: String?,
        label: String
    ) throws(SSHProtocolError) -> (Int32, ProxyChild) {
        let environmentShell = getenv("SHELL").map { String(cString: $0) }
        var program = shell ?? environmentShell ?? ""
        if program.isEmpty { program = "/bin/sh" }
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, socketStreamType | socketCloseOnExec, 0, &ends) == 0 else {
            throw SSHProtocolError(.connectionFailed, "cannot create a socket for the \(label): \(errnoText())")
        }
        let (ours, theirs) = (ends[0], ends[1])
        defer { _ = close(theirs) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, theirs, 0)
        posix_spawn_file_actions_adddup2(&actions, theirs, 1)
        switch spawnConfiguredCommand(program, [program, "-c", "exec " + command], actions: &actions) {
        case .success(let pid):
            return (ours, ProxyChild(pid: pid))
        case .failure(let error):
            _ = close(ours)
            throw SSHProtocolError(.connectionFailed, "cannot run the \(label) with \(program): \(error.text)")
        }
    }
}

/// A ProxyCommand's process: asked whether it has ended, and ended (SIGHUP, as ssh.c's
/// ssh_kill_proxy_command sends; SIGKILL if it lingers) and reaped once.
private final class ProxyChild: Sendable {
    private let pid: pid_t
    /// How it ended ("exited with status 1"), once reaped.
    private let ended = Mutex<String?>(nil)

    init(pid: pid_t) { self.pid = pid }

    /// How the process ended, if it has by the end of `grace`.
    func exitStatus(waiting grace: Duration) -> String? {
        let end = ContinuousClock.now + grace
        while true {
            if let text = self.reap(blocking: false) { return text }
            if ContinuousClock.now >= end { return nil }
            usleep(10_000)
        }
    }

    func end() {
        if self.reap(blocking: false) != nil { return }
        kill(self.pid, SIGHUP)
        if self.exitStatus(waiting: .seconds(1)) != nil { return }
        kill(self.pid, SIGKILL)
        _ = self.reap(blocking: true)
    }

    private func reap(blocking: Bool) -> String? {
        self.ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            var rc: pid_t
            repeat { rc = waitpid(self.pid, &status, blocking ? 0 : WNOHANG) } while rc < 0 && errno == EINTR
            guard rc == self.pid else { return nil }
            // <sys/wait.h>: the low 7 bits are the signal, the next 8 the exit status.
            let signal = status & 0x7f
            ended = signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(signal)"
            return ended
        }
    }
}

#if canImport(Glibc)
let socketStreamType = Int32(SOCK_STREAM.rawValue)
let socketCloseOnExec = Int32(SOCK_CLOEXEC.rawValue)
#else
let socketStreamType = SOCK_STREAM
let socketCloseOnExec: Int32 = 0
#endif
