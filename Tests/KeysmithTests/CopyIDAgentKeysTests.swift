import Foundation
import KeysmithTestSupport
import Testing

/// Which keys copy-id installs without `-i`, as ssh-copy-id chooses them: the keys of the
/// agent SSH_AUTH_SOCK names when it holds any (ssh-copy-id's `ssh-add -L`), else the newest
/// `~/.ssh/id*.pub`; `-i` without a file name is that file. Against OpenSSH's ssh-agent and
/// sshd; each deploy is proven by OpenSSH's ssh logging in with the installed key.
@Suite("copy-id without -i: the agent's keys, else the newest ~/.ssh/id*.pub")
struct CopyIDAgentKeysTests {
    struct Setup {
        let sshd: SSHDFixture
        let agent: SSHAgentFixture
        let dir: TempDir
        /// The newest (only) ~/.ssh/id*.pub of the local HOME.
        let homeKey: String
        let knownHosts: String

        init() throws {
            self.sshd = try SSHDFixture()
            self.agent = try SSHAgentFixture()
            self.dir = try TempDir()
            let ssh = self.dir.path("home/.ssh")
            try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
            self.homeKey = ssh + "/id_ecdsa"
            _ = try keygen(["-q", "-t", "ecdsa", "-N", "", "-C", "home@test", "-f", self.homeKey]).checked("ssh-keygen")
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        /// A key made outside HOME and added to the agent; returns its private key's path.
        func agentKey(_ name: String, type: [String] = ["-t", "ed25519"]) throws -> String {
            let path = self.dir.path(name)
            _ = try keygen(["-q", "-N", "", "-C", "\(name)@agent", "-f", path] + type).checked("ssh-keygen")
            _ = try runProcess("/usr/bin/ssh-add", ["-q", path], environment: ["SSH_AUTH_SOCK": self.agent.socket])
                .checked("ssh-add")
            return path
        }

        func copy(_ extra: [String] = []) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    "copy-id", "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "--password-stdin",
                ] + extra + ["\(self.sshd.user)@\(self.sshd.host)"],
                input: Data((self.sshd.password + "\n").utf8),
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": self.agent.socket]
            )
        }
    }

    @Test("an agent holding keys: all of them are installed, the choice is said, and ssh logs in with each")
    func agentKeys() throws {
        let s = try Setup()
        let first = try s.agentKey("first")
        let second = try s.agentKey("second", type: ["-t", "rsa", "-b", "2048"])
        let r = try s.copy()
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 2"), "\(r)")
        let said = r.stderr.split(separator: "\n").filter { $0.contains("Source of key(s) to be installed") }
        #expect(
            said == [
                "keysmith: INFO: Source of key(s) to be installed: the 2 keys of the ssh-agent at \(s.agent.socket) (no -i given; -i FILE installs a file's keys)"
            ]
        )
        let installed = s.sshd.authorizedKeys() ?? ""
        #expect(!installed.contains("home@test"), "the file is not installed when the agent holds keys")
        for key in [first, second] {
            #expect(installed.contains(try readText(key + ".pub").split(separator: " ")[1]))
            let login = try s.sshd.sshLogin(identity: key, command: "id -un")
            #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
        }
    }

    @Test("IdentityAgent names the agent whose keys log in; IdentityAgent none offers none")
    func identityAgent() throws {
        let s = try Setup()
        let key = try s.agentKey("only")
        let installed = try s.copy(["-i", key + ".pub"])
        try #require(installed.status == 0, "\(installed)")
        let config = s.dir.path("config")
        func listIDs(_ agentLine: String, socketVariable: String) throws -> ProcessResult {
            try writeText(config, "Host *\n  \(agentLine)\n  BatchMode yes\n")
            return try runProcess(
                keysmithPath,
                [
                    "list-ids", "-F", config, "-p", String(s.sshd.port), "-o", "UserKnownHostsFile=\(s.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "\(s.sshd.user)@\(s.sshd.host)",
                ],
                environment: ["HOME": s.dir.path("home"), "SSH_AUTH_SOCK": socketVariable]
            )
        }
        // SSH_AUTH_SOCK names nothing; the agent is reached only through IdentityAgent.
        let byPath = try listIDs("IdentityAgent \(s.agent.socket)", socketVariable: "")
        #expect(byPath.status == 0, "\(byPath)\n\(s.sshd.log)")
        #expect(byPath.stdout.contains("only@agent"), "\(byPath)")
        // The agent SSH_AUTH_SOCK names is not asked with IdentityAgent none: nothing logs in.
        let none = try listIDs("IdentityAgent none", socketVariable: s.agent.socket)
        #expect(none.status != 0, "\(none)")
        #expect(none.stderr.contains("keysmith:"), "\(none)")
    }

    @Test("an agent holding a key and its certificate: both lines are installed, as ssh-add -L lists them")
    func agentCertificate() throws {
        let s = try Setup()
        let ca = s.dir.path("ca")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", ca]).checked("ssh-keygen")
        let path = s.dir.path("certified")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "certified@agent", "-f", path]).checked("ssh-keygen")
        _ = try keygen(["-q", "-s", ca, "-I", "id", "-n", s.sshd.user, path + ".pub"]).checked("ssh-keygen -s")
        // ssh-add adds the key and, beside it, its certificate.
        _ = try runProcess("/usr/bin/ssh-add", ["-q", path], environment: ["SSH_AUTH_SOCK": s.agent.socket])
            .checked("ssh-add")
        let listed = try runProcess("/usr/bin/ssh-add", ["-L"], environment: ["SSH_AUTH_SOCK": s.agent.socket])
        let r = try s.copy()
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 2"), "\(r)")
        let installed = s.sshd.authorizedKeys() ?? ""
        for line in listed.stdout.split(separator: "\n") {
            #expect(installed.contains(line.split(separator: " ")[1]), "\(line)")
        }
        #expect(installed.contains("ssh-ed25519-cert-v01@openssh.com "))
        let login = try s.sshd.sshLogin(identity: path, command: "id -un")
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
    }

    @Test("an empty agent, or -i without a file: the newest ~/.ssh/id*.pub is installed", arguments: [false, true])
    func defaultFile(bareI: Bool) throws {
        let s = try Setup()
        if bareI { _ = try s.agentKey("held") }
        // -i followed by another option takes no file, as ssh-copy-id reads it.
        let r = try s.copy(bareI ? ["-i", "-o", "BatchMode=no"] : [])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains("Source of key(s) to be installed: \"\(s.homeKey).pub\""), "\(r)")
        #expect(s.sshd.authorizedKeys() == (try readText(s.homeKey + ".pub")))
        let login = try s.sshd.sshLogin(identity: s.homeKey, command: "id -un")
        #expect(login.status == 0, "\(login)\n\(s.sshd.log)")
    }
}
