import Foundation
import KeysmithTestSupport
import Testing

/// `keysmith copy-id -s` (and remove-id / list-ids -s), and the SFTP path keysmith takes by
/// itself when the shell cannot run its script: the deploy over SFTP, against
/// OpenSSH's sshd and sftp-server; each deploy is proven by OpenSSH logging in with the key.
@Suite("copy-id -s over SFTP against OpenSSH's sshd")
struct CopyIDSFTPTests {
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let key: String
        let knownHosts: String

        init(extraConfig: [String] = [], trailingConfig: [String] = []) throws {
            self.sshd = try SSHDFixture(extraConfig: extraConfig, trailingConfig: trailingConfig)
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.key = self.dir.path("id_ed25519")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "sftp@test", "-f", self.key]).checked("ssh-keygen")
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }
        var sshDirectory: String { self.sshd.home + "/.ssh" }

        func run(_ command: String, _ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "--password-stdin",
                ] + extra + [self.destination],
                input: Data((self.sshd.password + "\n").utf8),
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        func copy(_ extra: [String] = []) throws -> ProcessResult {
            try self.run("copy-id", ["-s", "-i", self.key + ".pub"] + extra)
        }

        /// OpenSSH's sftp logging in with `identity` only and listing ~/.ssh: the proof
        /// for an account that has no shell.
        func sftpLogin(identity: String) throws -> ProcessResult {
            try runProcess(
                "/usr/bin/sftp",
                [
                    "-F", "/dev/null", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                    "-o", "PreferredAuthentications=publickey", "-o", "StrictHostKeyChecking=yes",
                    "-o", "UserKnownHostsFile=\(self.knownHosts)", "-P", String(self.sshd.port), "-b", "-",
                    self.destination,
                ],
                input: Data("ls .ssh\n".utf8)
            )
        }

        func chown(_ path: String) throws {
            _ = try runProcess("/bin/chown", ["\(self.sshd.user):\(self.sshd.user)", path]).checked("chown")
        }
    }

    @Test("copy-id -s creates ~/.ssh 0700 and authorized_keys 0600; OpenSSH logs in; twice leaves one line")
    func copy() throws {
        let s = try Setup()
        let r = try s.copy()
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"))
        #expect(r.stderr.contains("created \(s.sshDirectory)"), "\(r)")
        #expect(try fileMode(s.sshDirectory) == 0o700)
        #expect(try fileMode(s.sshDirectory + "/authorized_keys") == 0o600)
        let login = try s.sshd.sshLogin(identity: s.key, command: "id -un")
        #expect(login.status == 0, "\(login)")
        #expect(login.stdout == s.sshd.user + "\n")

        let again = try s.copy()
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("All keys were skipped because they already exist on the remote system."))
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
        // No temporary file or lock is left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: s.sshDirectory)
        #expect(left == ["authorized_keys"])
    }

    @Test("an existing file without a final newline keeps its bytes and gains the key on a new line")
    func noFinalNewline() throws {
        let s = try Setup()
        let other = s.dir.path("other")
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-C", "other", "-f", other]).checked("ssh-keygen")
        let existing = try readText(other + ".pub").trimmingCharacters(in: .newlines)
        try FileManager.default.createDirectory(atPath: s.sshDirectory, withIntermediateDirectories: false)
        try writeText(s.sshDirectory + "/authorized_keys", "# comment\n" + existing, mode: 0o600)
        try s.chown(s.sshDirectory)
        try s.chown(s.sshDirectory + "/authorized_keys")
        _ = try runProcess("/bin/chmod", ["700", s.sshDirectory]).checked("chmod")

        let r = try s.copy()
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("added the missing final newline"), "\(r)")
        let line = try readText(s.key + ".pub")
        #expect(s.sshd.authorizedKeys() == "# comment\n" + existing + "\n" + line)
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
        #expect(try s.sshd.sshLogin(identity: other).status == 0)
    }

    @Test("-s repairs a world-writable ~/.ssh as the shell path reports it; -n changes nothing")
    func repairAndDryRun() throws {
        let s = try Setup()
        try FileManager.default.createDirectory(atPath: s.sshDirectory, withIntermediateDirectories: false)
        try s.chown(s.sshDirectory)
        _ = try runProcess("/bin/chmod", ["777", s.sshDirectory]).checked("chmod")
        let dry = try s.copy(["-n"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("Would have added the following key(s):"))
        #expect(dry.stderr.contains("would repair the mode of \(s.sshDirectory) (was drwxrwxrwx)"), "\(dry)")
        #expect(try fileMode(s.sshDirectory) == 0o777)
        #expect(s.sshd.authorizedKeys() == nil)

        let r = try s.copy()
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("repaired the mode of \(s.sshDirectory) (was drwxrwxrwx)"), "\(r)")
        #expect(try fileMode(s.sshDirectory) == 0o755)
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
    }

    @Test("list-ids -s and remove-id -s read and edit the file over SFTP")
    func listAndRemove() throws {
        let s = try Setup()
        let other = s.dir.path("other")
        _ = try keygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "other", "-f", other]).checked("ssh-keygen")
        #expect(try s.copy().status == 0)
        #expect(try s.run("copy-id", ["-s", "-i", other]).status == 0)
        let list = try s.run("list-ids", ["-s"])
        #expect(list.status == 0, "\(list)")
        let expected = try keygen(["-l", "-f", s.sshDirectory + "/authorized_keys"]).checked("ssh-keygen -l")
        #expect(list.stdout == expected.stdout)

        let removed = try s.run("remove-id", ["-s", "-i", s.key + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(try s.sshd.sshLogin(identity: s.key).status != 0)
        #expect(try s.sshd.sshLogin(identity: other).status == 0)
        #expect(s.sshd.authorizedKeys() == (try readText(other + ".pub")))
    }

    @Test("concurrent deploys over SFTP and over the shell share the lock and lose no key")
    func concurrent() throws {
        let s = try Setup(extraConfig: ["MaxStartups 100"])
        let keys = try (0..<6).map { i in
            let path = s.dir.path("k\(i)")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "k\(i)", "-f", path]).checked("ssh-keygen")
            return path
        }
        // One shell starts them all (Foundation's Process is not safe to launch this widely);
        // every other one uses -s.
        let script = """
            s= pids=
            for k in "$@"; do
                printf '%s\\n' "$PW" | "$KS" copy-id $s -i "$k.pub" -p "$PORT" -o UserKnownHostsFile="$KH" \\
                    -o StrictHostKeyChecking=yes --password-stdin "$DEST" > "$k.out" 2>&1 &
                pids="$pids $!"
                if [ -z "$s" ]; then s=-s; else s=; fi
            done
            failed=0
            for pid in $pids; do wait "$pid" || failed=$((failed + 1)); done
            exit "$failed"
            """
        let r = try runProcess(
            "/bin/sh",
            ["-c", script, "race"] + keys,
            environment: [
                "PW": s.sshd.password, "KS": keysmithPath, "PORT": String(s.sshd.port), "KH": s.knownHosts,
                "DEST": s.destination, "HOME": s.dir.path("home"), "SSH_AUTH_SOCK": "",
            ]
        )
        let outputs = keys.map { (try? readText($0 + ".out")) ?? "" }.joined(separator: "\n")
        #expect(r.status == 0, "\(r)\n\(outputs)")
        let file = s.sshd.authorizedKeys() ?? ""
        #expect(!outputs.contains("keysmith: \(s.destination)"), "\(outputs)")
        for key in keys {
            #expect(file.contains(try readText(key + ".pub")))
            #expect(try s.sshd.sshLogin(identity: key).status == 0)
        }
        #expect(file.split(separator: "\n").count == keys.count)
        #expect(s.sshd.log.components(separatedBy: "Starting session: subsystem 'sftp'").count - 1 == keys.count / 2)
    }

    /// The sentence keysmith says on stderr when the shell cannot run its script.
    static let fallbackNote = "so keysmith uses SFTP instead, as with -s"

    @Test(
        "an account with no shell (nologin or /bin/false, ForceCommand internal-sftp): copy-id, list-ids and remove-id go over SFTP by themselves",
        arguments: ["/usr/sbin/nologin", "/bin/false"]
    )
    func noShell(shell: String) throws {
        let s = try Setup(trailingConfig: ["Match User *", "    ForceCommand internal-sftp"])
        _ = try runProcess("/usr/sbin/usermod", ["-s", shell, s.sshd.user]).checked("usermod")

        let r = try s.run("copy-id", ["-i", s.key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"))
        let notes = r.stderr.split(separator: "\n").filter { $0.contains(Self.fallbackNote) }
        #expect(notes.count == 1, "\(r)")
        let prefix = "keysmith: INFO: \(s.destination): the remote shell did not run"
        #expect(notes.first?.hasPrefix(prefix) == true, "\(r)")
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
        let login = try s.sftpLogin(identity: s.key)
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        #expect(login.stdout.contains("authorized_keys"))
        #expect(s.sshd.log.contains("Accepted publickey for \(s.sshd.user)"))

        let list = try s.run("list-ids")
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.contains("sftp@test"), "\(list)")
        #expect(list.stderr.contains(Self.fallbackNote), "\(list)")
        let removed = try s.run("remove-id", ["-i", s.key + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(s.sshd.authorizedKeys() == "")
        #expect(try s.sftpLogin(identity: s.key).status != 0)
    }

    @Test("a fish login shell runs keysmith's sh script as it is: no SFTP needed; ssh logs in")
    func fishShell() throws {
        let s = try Setup()
        _ = try runProcess("/usr/sbin/usermod", ["-s", "/usr/bin/fish", s.sshd.user]).checked("usermod")
        let r = try s.run("copy-id", ["-i", s.key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(!r.stderr.contains(Self.fallbackNote), "\(r)")
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
        let login = try s.sshd.sshLogin(identity: s.key, command: "echo $SHELL")
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        #expect(login.stdout == "/usr/bin/fish\n")
    }

    @Test(
        "a restricted login shell that runs only sftp-server (as rssh, scponly): copy-id, list-ids, rotate and remove-id go over SFTP"
    )
    func restrictedShell() throws {
        let s = try Setup()
        let shell = s.dir.path("sftp-only-shell")
        try writeText(
            shell,
            """
            #!/bin/sh
            [ "$1" = -c ] && [ "$2" = /usr/lib/openssh/sftp-server ] && exec "$2"
            echo "sftp-only-shell: command not allowed" >&2
            exit 1

            """,
            mode: 0o755
        )
        #expect(chmod(s.dir.url.path, 0o755) == 0)
        _ = try runProcess("/usr/sbin/usermod", ["-s", shell, s.sshd.user]).checked("usermod")

        let r = try s.run("copy-id", ["-i", s.key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        let notes = r.stderr.split(separator: "\n").filter { $0.contains(Self.fallbackNote) }
        #expect(notes.count == 1, "\(r)")
        #expect(notes.first?.contains("command not allowed") == true, "\(r)")
        #expect(s.sshd.authorizedKeys() == (try readText(s.key + ".pub")))
        #expect(try s.sftpLogin(identity: s.key).status == 0)
        #expect(try s.run("list-ids").stdout.contains("sftp@test"))

        let new = s.dir.path("id_new")
        _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-C", "new@test", "-f", new]).checked("ssh-keygen")
        let rotated = try s.run("rotate", ["-i", new, "--old", s.key + ".pub"])
        #expect(rotated.status == 0, "\(rotated)\n\(s.sshd.log)")
        #expect(rotated.stderr.contains(Self.fallbackNote), "\(rotated)")
        #expect(try s.sftpLogin(identity: new).status == 0)
        #expect(try s.sftpLogin(identity: s.key).status != 0)
        #expect(try s.run("remove-id", ["-i", new + ".pub"]).status == 0)
        #expect(s.sshd.authorizedKeys() == "")
    }

    @Test("a script that ran and failed is reported, not retried over SFTP")
    func scriptFailureIsNoFallback() throws {
        let s = try Setup()
        // ~/.ssh is a file: the script runs, and its read fails.
        try writeText(s.sshDirectory, "not a directory\n", mode: 0o600)
        try s.chown(s.sshDirectory)
        let r = try s.run("copy-id", ["-i", s.key + ".pub"])
        #expect(r.status == 1, "\(r)")
        #expect(!r.stderr.contains(Self.fallbackNote), "\(r)")
    }

    @Test("a chrooted SFTP account (ChrootDirectory, internal-sftp): the target is the path inside the chroot")
    func chroot() throws {
        let root = "/srv/keysmith-chroot-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let s = try Setup(
            extraConfig: ["AuthorizedKeysFile \(root)/%u%h/.ssh/authorized_keys"],
            trailingConfig: ["Match User *", "    ForceCommand internal-sftp", "    ChrootDirectory \(root)/%u"]
        )
        defer { try? FileManager.default.removeItem(atPath: root) }
        // sshd wants every directory of the chroot owned by root and writable by nobody
        // else; inside it the account's home, at the same path, is the account's.
        let jail = root + "/" + s.sshd.user
        let home = jail + s.sshd.home
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        for path in [root, jail, jail + "/home"] { #expect(chmod(path, 0o755) == 0) }
        try s.chown(home)
        #expect(chmod(home, 0o755) == 0)

        let r = try s.run("copy-id", ["-i", s.key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains(Self.fallbackNote), "\(r)")
        #expect((try? readText(home + "/.ssh/authorized_keys")) == (try readText(s.key + ".pub")))
        #expect(s.sshd.authorizedKeys() == nil, "nothing was written outside the chroot")
        let login = try s.sftpLogin(identity: s.key)
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        #expect(s.sshd.log.contains("Accepted publickey for \(s.sshd.user)"))
    }

    @Test(
        "-t PATH installs where sshd's AuthorizedKeysFile says, over the shell and over SFTP",
        arguments: [false, true]
    )
    func target(sftp: Bool) throws {
        let s = try Setup(extraConfig: ["AuthorizedKeysFile .config/keysmith-keys/authorized"])
        let target = ".config/keysmith-keys/authorized"
        let r = try s.run("copy-id", (sftp ? ["-s"] : []) + ["-t", target, "-i", s.key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(try readText(s.sshd.home + "/" + target) == (try readText(s.key + ".pub")))
        #expect(s.sshd.authorizedKeys() == nil)
        let login = try s.sshd.sshLogin(identity: s.key, command: "id -un")
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        let list = try s.run("list-ids", (sftp ? ["-s"] : []) + ["-t", target])
        #expect(list.stdout.contains("sftp@test"), "\(list)")
        #expect(try s.run("remove-id", (sftp ? ["-s"] : []) + ["-t", target, "-i", s.key + ".pub"]).status == 0)
        #expect(try s.sshd.sshLogin(identity: s.key).status != 0)
    }
}
