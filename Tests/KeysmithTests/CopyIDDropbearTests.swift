import Foundation
import KeysmithTestSupport
import Testing

/// keysmith copy-id / remove-id against Debian's dropbear as a second server; each deploy is
/// proven by OpenSSH's ssh logging in with the new key.
@Suite("copy-id and remove-id against dropbear")
struct CopyIDDropbearTests {
    struct Setup {
        let server: DropbearFixture
        let dir: TempDir
        let knownHosts: String

        init() throws {
            self.server = try DropbearFixture()
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.knownHosts = try self.server.knownHostsFile()
        }

        /// A fresh key pair made by ssh-keygen.
        func newKey(_ name: String, type: [String] = ["-t", "ed25519"]) throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-q"] + type + ["-N", "", "-C", name, "-f", path]).checked("ssh-keygen")
            return path
        }

        /// Runs keysmith COMMAND against dropbear with the password on stdin.
        func run(_ command: String, _ extra: [String]) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.server.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "--password-stdin",
                ] + extra + ["\(self.server.user)@\(self.server.host)"],
                input: Data((self.server.password + "\n").utf8),
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }
    }

    @Test("copy-id with a password deploys once; OpenSSH logs in with the key; remove-id takes it out")
    func deployAndRemove() throws {
        let s = try Setup()
        let key = try s.newKey("id_ed25519")
        let r = try s.run("copy-id", ["-i", key + ".pub"])
        #expect(r.status == 0, "\(r)\n\(s.server.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"), "\(r)")
        let login = try s.server.sshLogin(identity: key, command: "id -un")
        #expect(login.status == 0 && login.stdout == s.server.user + "\n", "\(login)\n\(s.server.log)")
        #expect(try fileMode(s.server.home + "/.ssh") == 0o700)
        #expect(try fileMode(s.server.home + "/.ssh/authorized_keys") == 0o600)

        let again = try s.run("copy-id", ["-i", key + ".pub"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stderr.contains("All keys were skipped because they already exist on the remote system."))
        #expect(s.server.authorizedKeys() == (try readText(key + ".pub")))

        let other = try s.newKey("other", type: ["-t", "rsa", "-b", "2048"])
        #expect(try s.run("copy-id", ["-i", other + ".pub"]).status == 0)
        let list = try s.run("list-ids", [])
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.split(separator: "\n").count == 2, "\(list)")

        let removed = try s.run("remove-id", ["-i", key + ".pub"])
        #expect(removed.status == 0, "\(removed)")
        #expect(try s.server.sshLogin(identity: key).status != 0)
        #expect(try s.server.sshLogin(identity: other).status == 0)
        #expect(s.server.authorizedKeys() == (try readText(other + ".pub")))
    }
}
