import Foundation

/// Debian's dropbear (dropbear-bin) on a loopback port, with its own host keys made by
/// dropbearkey and a throwaway local account with a password, as a second server for
/// interop tests. Needs root (tests run as root).
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
    /// The directory holding the host keys, pid file and log.
    public let directory: TempDir
    /// The host keys' public lines (`type base64`), as `dropbearkey -y` prints them.
    public let hostKeys: [String]

    private let pid: Int32

    /// Starts dropbear with Ed25519, ECDSA P-256 and RSA host keys.
    /// - Parameter extraArguments: more dropbear options (before `-p`).
    public init(extraArguments: [String] = []) throws {
        self.directory = try TempDir()
        let dir = self.directory
        var keys: [String] = []
        var keyArguments: [String] = []
        for (type, bits) in [("ed25519", nil), ("ecdsa", "256"), ("rsa", "2048")] as [(String, String?)] {
            let path = dir.path("dropbear_\(type)_host_key")
            var args = ["-t", type, "-f", path]
            if let bits { args += ["-s", bits] }
            _ = try runProcess("/usr/bin/dropbearkey", args).checked("dropbearkey")
            let shown = try runProcess("/usr/bin/dropbearkey", ["-y", "-f", path]).checked("dropbearkey -y")
            guard
                let line = shown.stdout.split(separator: "\n").first(where: {
                    $0.hasPrefix("ssh-") || $0.hasPrefix("ecdsa-")
                })
            else { throw FixtureError("dropbearkey -y printed no key: \(shown.stdout)") }
            keys.append(line.split(separator: " ").prefix(2).joined(separator: " "))
            keyArguments += ["-r", path]
        }
        self.hostKeys = keys

        let user = "kd" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let password = "pw-" + UUID().uuidString
        let add = try runProcess("/usr/sbin/useradd", ["-m", "-s", "/bin/sh", user])
        guard add.status == 0 else { throw FixtureError("useradd failed: \(add.stderr)") }
        let pw = try runProcess("/usr/sbin/chpasswd", [], input: Data("\(user):\(password)\n".utf8))
        guard pw.status == 0 else {
            _ = try? runProcess("/usr/sbin/userdel", ["-r", user])
            throw FixtureError("chpasswd failed: \(pw.stderr)")
        }
        self.user = user
        self.password = password
        self.home = "/home/\(user)"

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
        _ = try? runProcess("/usr/sbin/userdel", ["-r", user])
        throw FixtureError("dropbear did not start: \(lastError)")
    }

    deinit {
        stopDaemon(self.pid)
        // dropbear's per-connection children may outlive the listener briefly.
        _ = try? runProcess("/usr/bin/pkill", ["-u", self.user])
        _ = try? runProcess("/usr/sbin/userdel", ["-r", "-f", self.user])
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
