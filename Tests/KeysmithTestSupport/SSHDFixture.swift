import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH sshd on a loopback port, with its own configuration and a throwaway local
/// account, and the host keys every fixture of the test process shares, for interop tests.
/// Needs root (tests run as root).
///
/// Each fixture has its own account (lent by the process's ``AccountPool``: tests running
/// in parallel never share an `~/.ssh`, and an account comes back with a fresh home) and its
/// own sshd; the sshd is stopped and the account given back when the fixture is released.
public final class SSHDFixture: @unchecked Sendable {
    // @unchecked: the process handle is only touched in init and deinit.

    /// The address sshd listens on: loopback, or the one given with its network namespace.
    public let host: String
    /// The port sshd listens on.
    public let port: Int
    /// The test account's name.
    public let user: String
    /// The test account's password.
    public let password: String
    /// The test account's home directory.
    public let home: String
    /// The directory holding the config and log (the host keys are shared by every fixture
    /// of the process, in a directory of their own).
    public let directory: TempDir
    /// The host keys' public lines, by type name (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    public let hostKeys: [String: String]

    private let pid: pid_t
    /// Accounts lent by ``addAccount(password:)``, given back in `deinit`.
    private let extraAccounts = ExtraAccounts()

    /// Starts sshd.
    /// - Parameter extraConfig: sshd_config lines appended to the defaults (later lines do
    ///   not override earlier ones in sshd_config, so these come first).
    /// - Parameter trailingConfig: lines appended after the defaults, for `Match` blocks
    ///   (which must come last).
    /// - Parameter network: run sshd in this network namespace (`ip netns exec`), listening
    ///   on `address`:`port` there; by default on a free port of 127.0.0.1 here.
    public init(
        extraConfig: [String] = [],
        trailingConfig: [String] = [],
        network: (namespace: String, address: String, port: Int)? = nil
    ) throws {
        self.host = network?.address ?? "127.0.0.1"
        self.directory = try TempDir()
        let dir = self.directory
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)

        // Made once per test process (SharedHostKeys): most of a fixture's start-up otherwise.
        let shared = try SharedHostKeys.openSSH.get()
        self.hostKeys = Dictionary(uniqueKeysWithValues: shared.map { ($0.type, $0.line) })
        let hostKeyLines = shared.map { "HostKey \($0.path)" }

        let account = try AccountPool.shared.take()
        self.user = account.user
        self.password = account.password
        self.home = account.home

        let config =
            extraConfig + hostKeyLines + [
                "ListenAddress \(network?.address ?? "127.0.0.1")",
                "PidFile \(dir.path("sshd.pid"))",
                "AuthorizedKeysFile .ssh/authorized_keys",
                "UsePAM yes",
                "PasswordAuthentication yes",
                "KbdInteractiveAuthentication yes",
                "PubkeyAuthentication yes",
                "StrictModes yes",
                // The accounts of the pool (this one and those addAccount lends), nobody else.
                "AllowUsers \(AccountPool.shared.prefix)*",
                "LogLevel VERBOSE",
                "Subsystem sftp /usr/lib/openssh/sftp-server",
            ] + trailingConfig

        var lastError = ""
        for _ in 0..<5 {
            let port = try network?.port ?? Self.freePort()
            try writeText(dir.path("sshd_config"), (["Port \(port)"] + config).joined(separator: "\n") + "\n")
            // Not Foundation's Process: while one of its children runs for long, its
            // child-exit monitor can block waiting on it and hang every other Process.
            let sshd = ["/usr/sbin/sshd", "-f", dir.path("sshd_config"), "-D", "-e"]
            let command = network.map { ["/usr/sbin/ip", "netns", "exec", $0.namespace] + sshd } ?? sshd
            let pid = try spawnDaemon(command[0], Array(command.dropFirst()), log: dir.path("sshd.log"))
            let listening =
                network == nil
                ? Self.waitForListener(port: port, seconds: 10)
                : Self.waitForLog("Server listening on", in: dir.path("sshd.log"), seconds: 10)
            if listening {
                self.port = port
                self.pid = pid
                return
            }
            stopDaemon(pid)
            lastError = (try? readText(dir.path("sshd.log"))) ?? ""
        }
        AccountPool.shared.giveBack(account)
        throw FixtureError("sshd did not start: \(lastError)")
    }

    deinit {
        stopDaemon(self.pid)
        for account in [self.account] + self.extraAccounts.all { AccountPool.shared.giveBack(account) }
    }

    /// A local account this sshd lets in.
    public struct Account: Sendable, Hashable {
        /// The login name.
        public let user: String
        /// The password (PAM checks it for password and keyboard-interactive logins).
        public let password: String
        /// The home directory.
        public let home: String
    }

    /// The account made with the fixture.
    public var account: Account { Account(user: self.user, password: self.password, home: self.home) }

    /// Another throwaway account (password, fresh home directory, `/bin/sh`) that this sshd
    /// lets in, lent by the pool for as long as the fixture lives.
    ///
    /// - Parameter password: its password; default a fresh random one.
    public func addAccount(password: String? = nil) throws -> Account {
        let account = try AccountPool.shared.take(password: password)
        self.extraAccounts.append(account)
        return account
    }

    /// sshd's log so far (for test failure messages).
    public var log: String { (try? readText(self.directory.path("sshd.log"))) ?? "" }

    /// A known_hosts file trusting this server's host keys, written into the fixture's directory.
    public func knownHostsFile() throws -> String {
        let path = self.directory.path("known_hosts")
        let lines = self.hostKeys.values.map { "[\(self.host)]:\(self.port) \($0)" }
        // Written aside and renamed: tests call this from several threads while ssh reads it.
        let temporary = path + ".\(UUID().uuidString)"
        try writeText(temporary, lines.joined(separator: "\n") + "\n", mode: 0o644)
        guard rename(temporary, path) == 0 else { throw FixtureError("cannot rename \(temporary) to \(path)") }
        return path
    }

    /// Runs OpenSSH's `ssh` as the test user (or `account`) with `identity` (and nothing
    /// else) and `command`; `environment` is added to ssh's.
    public func sshLogin(
        identity: String,
        command: String = "true",
        extraOptions: [String] = [],
        as account: Account? = nil,
        environment: [String: String] = [:]
    ) throws -> ProcessResult {
        try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(try self.knownHostsFile())", "-p", String(self.port),
            ] + extraOptions + ["\(account?.user ?? self.user)@\(self.host)", command],
            environment: environment
        )
    }

    /// The test user's (or `account`'s) authorized_keys contents, or nil when the file does not exist.
    public func authorizedKeys(of account: Account? = nil) -> String? {
        try? readText((account?.home ?? self.home) + "/.ssh/authorized_keys")
    }

    private static func create(_ path: String) throws -> String {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw FixtureError("cannot create \(path)")
        }
        return path
    }

    /// A loopback port that was free a moment ago (bind to port 0 and read it back); nothing
    /// listens on it, so a connection to it is refused.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard bound == 0 else { throw FixtureError("bind failed") }
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw FixtureError("getsockname failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether `text` shows up in the file at `path` within `seconds`.
    static func waitForLog(_ text: String, in path: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if ((try? readText(path)) ?? "").contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    static func waitForListener(port: Int, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if ok == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}

/// Starts a loopback server written in Python (Debian's `/usr/bin/python3 -c SCRIPT ARGUMENTS…`)
/// that prints its port as the first line of `log`, and waits up to 10 s for that line.
///
/// - Returns: the server's process (stop it with ``stopDaemon(_:)``) and its port.
/// - Throws: ``FixtureError`` when it does not start; the process is stopped then.
public func startPythonServer(
    _ script: String,
    _ arguments: [String] = [],
    log: String
) throws -> (
    pid: Int32, port: String
) {
    let pid = try spawnDaemon("/usr/bin/python3", ["-c", script] + arguments, log: log)
    var port = ""
    for _ in 0..<200 where port.isEmpty {
        port = ((try? readText(log)) ?? "").split(separator: "\n").first.map(String.init) ?? ""
        if port.isEmpty { usleep(50_000) }
    }
    guard Int(port) != nil else {
        stopDaemon(pid)
        throw FixtureError("the Python server did not start: \((try? readText(log)) ?? "")")
    }
    return (pid, port)
}

/// Starts `executable` with stdin from /dev/null and stdout and stderr appended to `log`.
/// - Returns: its process id; stop it with ``stopDaemon(_:)``.
public func spawnDaemon(_ executable: String, _ arguments: [String], log: String) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    // The child must not inherit the test thread's blocked signals, or SIGTERM would
    // never reach it: clear the mask and reset handlers to their defaults.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    guard rc == 0 else { throw FixtureError("cannot start \(executable): \(String(cString: strerror(rc)))") }
    return pid
}

/// Sends SIGTERM to a process from ``spawnDaemon(_:_:log:)`` and reaps it.
public func stopDaemon(_ pid: Int32) {
    kill(pid, SIGTERM)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

/// The accounts one fixture added, under a lock (tests may add them from several tasks).
private final class ExtraAccounts: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var accounts: [SSHDFixture.Account] = []

    var all: [SSHDFixture.Account] { self.lock.withLock { self.accounts } }

    func append(_ account: SSHDFixture.Account) { self.lock.withLock { self.accounts.append(account) } }
}

/// A fixture that could not be set up.
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh TCP connection to 127.0.0.1:`port`, or -1.
public func connectLoopback(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if ok != 0 {
        close(fd)
        return -1
    }
    return fd
}
