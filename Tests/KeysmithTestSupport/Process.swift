public import Foundation

/// Paths of the reference tools the interop tests run.
public enum Tool {
    /// OpenSSH's key tool.
    public static let sshKeygen = "/usr/bin/ssh-keygen"
    /// The OpenSSL command line.
    public static let openssl = "/usr/bin/openssl"
    /// Debian's Python, which `make deps` provides with python3-bcrypt (not a pyenv shim).
    public static let python = "/usr/bin/python3"
    /// OpenSSH's client, the proof of every deploy.
    public static let ssh = "/usr/bin/ssh"
}

/// What a finished program produced.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdoutData: Data
    public var stderrData: Data

    public init(status: Int32, stdoutData: Data, stderrData: Data) {
        self.status = status
        self.stdoutData = stdoutData
        self.stderrData = stderrData
    }

    /// stdout decoded as UTF-8.
    public var stdout: String { String(decoding: self.stdoutData, as: UTF8.self) }
    /// stderr decoded as UTF-8.
    public var stderr: String { String(decoding: self.stderrData, as: UTF8.self) }

    public var description: String { "exit \(self.status)\nstdout: \(self.stdout)\nstderr: \(self.stderr)" }

    /// This result if the program exited 0.
    ///
    /// - Throws: ``ProcessFailure`` naming the command, its status and its stderr.
    public func checked(_ command: String) throws(ProcessFailure) -> ProcessResult {
        guard self.status == 0 else {
            throw ProcessFailure(description: "\(command) exited \(self.status): \(self.stderr)")
        }
        return self
    }
}

/// A program that exited non-zero when the test needed it to succeed.
public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// Runs `executable` with `arguments` and waits for it to end.
///
/// stdin, stdout and stderr are serviced at the same time by one poll(2) loop, so a
/// child that fills one pipe while we feed or drain another never deadlocks. The child
/// gets our environment with `LC_ALL=C.UTF-8`, then `environment` on top; it starts with
/// no blocked signals and default handlers (a test thread's mask has SIGCHLD blocked,
/// which would hang a shell's `wait`), and inherits no descriptor but its three pipes.
///
/// - Parameters:
///   - executable: The program's absolute path.
///   - arguments: Its arguments, without the program name.
///   - input: Bytes written to its stdin, which is then closed; `nil` gives it an empty stdin.
///   - environment: Variables added to, or replacing, the inherited ones.
///   - directory: Its working directory; `nil` keeps ours.
/// - Throws: When the program cannot be started.
@discardableResult
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String] = [:],
    directory: URL? = nil
) throws -> ProcessResult {
    var env = ProcessInfo.processInfo.environment
    env["LC_ALL"] = "C.UTF-8"
    env.merge(environment) { _, new in new }
    // Feeding a child that has exited must give EPIPE, not kill the test runner.
    signal(SIGPIPE, SIG_IGN)

    // Pipes are close-on-exec from birth (a daemon another test spawns meanwhile must not
    // inherit them); the spawn's dup2 puts the child's ends on 0, 1 and 2.
    func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else {
            throw FixtureError("pipe: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }
    let stdinPipe = try makePipe()
    let stdoutPipe = try makePipe()
    let stderrPipe = try makePipe()

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
    posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    // Glibc's addchdir_np is not imported: a shell changes directory and execs the program.
    var command = [executable] + arguments
    if let directory { command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path] + command }
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for p in envp { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
    close(stdinPipe.read)
    close(stdoutPipe.write)
    close(stderrPipe.write)
    guard rc == 0 else {
        close(stdinPipe.write)
        close(stdoutPipe.read)
        close(stderrPipe.read)
        throw FixtureError("cannot start \(executable): \(String(cString: strerror(rc)))")
    }

    // One loop feeds stdin and drains stdout and stderr until both reach end of file.
    let toWrite = [UInt8](input ?? Data())
    var written = 0
    var inFD: Int32 = stdinPipe.write
    if toWrite.isEmpty {
        close(inFD)
        inFD = -1
    } else {
        _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
    }
    var outFD: Int32 = stdoutPipe.read
    var errFD: Int32 = stderrPipe.read
    var outBytes: [UInt8] = []
    var errBytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while outFD >= 0 || errFD >= 0 || inFD >= 0 {
        var fds = [
            pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0),
            pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, nfds_t(fds.count), -1)
        if ready < 0 {
            if errno == EINTR { continue }
            break
        }
        if inFD >= 0, fds[0].revents != 0 {
            let n = toWrite[written...].withUnsafeBytes { write(inFD, $0.baseAddress, $0.count) }
            if n > 0 { written += n }
            // A child that exits without reading its input closes the pipe: EPIPE ends feeding.
            if (n < 0 && errno != EAGAIN && errno != EINTR) || written == toWrite.count {
                close(inFD)
                inFD = -1
            }
        }
        for (index, isOut) in [(1, true), (2, false)] where fds[index].revents != 0 {
            let fd = isOut ? outFD : errFD
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                if isOut { outBytes += buffer[0..<n] } else { errBytes += buffer[0..<n] }
            } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                close(fd)
                if isOut { outFD = -1 } else { errFD = -1 }
            }
        }
    }
    if inFD >= 0 { close(inFD) }

    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // Exit status, or 128 + the signal number for a child killed by a signal, as a shell reports it.
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProcessResult(status: code, stdoutData: Data(outBytes), stderrData: Data(errBytes))
}

/// glibc's pipe2(2), which the Glibc module does not import.
private func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    guard let symbol = dlsym(nil, "pipe2") else { return -1 }
    return unsafeBitCast(symbol, to: Pipe2.self)(fds, flags)
}
