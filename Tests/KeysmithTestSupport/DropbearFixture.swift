import Foundation

/// Debian's dropbear (dropbear-bin) on a loopback port, with host keys made by dropbearkey
/// (once per test process, shared by every fixture) and a throwaway local account with a
/// password (lent by the process's AccountPool), as a second server for interop tests. Needs root (tests run as root).
public final class DropbearFixture: @unchecked Sendable {
    // @unchecked: the process id is only touched in init and deinit.

    /// The loopback address dropbear listens on.
    public let host = "127.0.0.1"
    /// The port dropbear listens on.
    public let port: Int
    /// The test account's name.
    public let user: String
    /// The test account's password.
    public let password: String
    /// The test account's home directory.
    public let home: String
    /// The directory holding the pid file, known_hosts and log.
    public let directory: TempDir
    /// The host keys' public lines (`type base64`), as `dropbearkey -y` prints them.
    public let hostKeys: [String]

    private let pid: Int32

    /// Starts dropbear with Ed25519, ECDSA P-256 and RSA host keys.
    /// - Parameter extraArguments: more dropbear options (before `-p`).
    public init(extraArguments: [String] = []) throws {
        self.directory = try TempDir()
        let dir = self.directory
        // Made once per test process (SharedHostKeys): most of a fixture's start-up otherwise.
        let shared = try SharedHostKeys.dropbear.get()
        self.hostKeys = shared.map(\.line)
        let keyArguments = shared.flatMap { ["-r", $0.path] }

        let account = try AccountPool.shared.take()
        self.user = account.user
        self.password = account.password
        self.home = account.home

        var lastError = ""
        for _ in 0..<5 {
            let port = try SSHDFixture.freePort()
            // -F: stay in the foreground; -E: log to stderr (our log file).
            let pid = try spawnDaemon(
                "/usr/sbin/dropbear",
                ["-F", "-E"] + keyArguments + extraArguments + [
                    "-p", "\(self.host):\(port)", "-P", dir.path("dropbear.pid"),
                ],
                log: dir.path("dropbear.log")
            )
            if SSHDFixture.waitForListener(port: port, seconds: 10) {
                self.port = port
                self.pid = pid
                return
            }
            stopDaemon(pid)
            lastError = (try? readText(dir.path("dropbear.log"))) ?? ""
        }
        AccountPool.shared.giveBack(account)
        throw FixtureError("dropbear did not start: \(lastError)")
    }

    deinit {
        stopDaemon(self.pid)
        // Kills what dropbear's per-connection children left running, then renews the home.
        AccountPool.shared.giveBack(SSHDFixture.Account(user: self.user, password: self.password, home: self.home))
    }

    /// dropbear's log so far (for test failure messages).
    public var log: String { (try? readText(self.directory.path("dropbear.log"))) ?? "" }

    /// A known_hosts file trusting this server's host keys, written into the fixture's directory.
    public func knownHostsFile() throws -> String {
        let path = self.directory.path("known_hosts")
        if !FileManager.default.fileExists(atPath: path) {
            let lines = self.hostKeys.map { "[\(self.host)]:\(self.port) \($0)" }
            try writeText(path, lines.joined(separator: "\n") + "\n", mode: 0o644)
        }
        return path
    }

    /// Runs OpenSSH's `ssh` as the test user with `identity` (and nothing else) and `command`.
    public func sshLogin(identity: String, command: String = "true") throws -> ProcessResult {
        try runProcess(
            Tool.ssh,
            [
                "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(try self.knownHostsFile())", "-p", String(self.port),
                "\(self.user)@\(self.host)", command,
            ]
        )
    }

    /// The test user's authorized_keys contents, or nil when the file does not exist.
    public func authorizedKeys() -> String? {
        try? readText(self.home + "/.ssh/authorized_keys")
    }
}
