import Foundation
import KeysmithTestSupport
import Testing

/// keysmith's SSH client logs in to OpenSSH's sshd with security-key identities made by
/// ssh-keygen through the software authenticator, its provider chosen as ssh chooses it.
@Suite("copy-id and list-ids log in with security keys, as ssh does")
struct SecurityKeyLoginTests {
    static let types = ["ed25519-sk", "ecdsa-sk"]

    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let library: String
        let key: String
        let knownHosts: String

        init(type: String, keygenOptions: [String] = [], environment: [String: String] = [:]) throws {
            self.library = try SoftAuthenticator.path()
            self.sshd = try SSHDFixture()
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.key = self.dir.path("id_sk")
            let made = try runProcess(
                Tool.sshKeygen,
                ["-q", "-t", type, "-w", self.library, "-N", "", "-C", "sk@test", "-f", self.key]
                    + keygenOptions.flatMap { ["-O", $0] },
                environment: environment
            )
            try #require(made.status == 0, "\(made)")
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        /// Puts the key into the account's authorized_keys, after `options` when given, as
        /// sshd wants it (owned by the account, 0600).
        func authorize(options: String? = nil, publicKeyFile: String? = nil) throws {
            let line = try readText(publicKeyFile ?? self.key + ".pub")
            let ssh = self.sshd.home + "/.ssh"
            try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
            try writeText(ssh + "/authorized_keys", (options.map { $0 + " " } ?? "") + line, mode: 0o600)
            _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
            _ = try runProcess("/bin/chown", ["-R", "\(self.sshd.user):\(self.sshd.user)", ssh]).checked("chown")
        }

        /// keysmith COMMAND logging in with the security key alone.
        /// With `identityFile` false, ssh's default identity files in HOME are used.
        func run(
            _ command: String,
            _ extra: [String] = [],
            environment: [String: String] = [:],
            identityFile: Bool = true
        ) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                [
                    command, "-p", String(self.sshd.port), "-o", "UserKnownHostsFile=\(self.knownHosts)",
                    "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                    "-o", "PreferredAuthentications=publickey",
                ] + (identityFile ? ["-o", "IdentityFile=\(self.key)"] : []) + extra + [
                    "\(self.sshd.user)@\(self.sshd.host)"
                ],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""].merging(environment) { _, new in new }
            )
        }
    }

    static func displayName(_ type: String) -> String { type == "ecdsa-sk" ? "ECDSA-SK" : "ED25519-SK" }

    @Test("list-ids logs in with -o SecurityKeyProvider= and with SSH_SK_PROVIDER", arguments: types)
    func listIDs(_ type: String) throws {
        let s = try Setup(type: type)
        try s.authorize()
        let expected = try keygen(["-l", "-f", s.sshd.home + "/.ssh/authorized_keys"]).checked("ssh-keygen -l")
        let configured = try s.run("list-ids", ["-o", "SecurityKeyProvider=\(s.library)"])
        #expect(configured.status == 0, "\(configured)\n\(s.sshd.log)")
        #expect(configured.stdout == expected.stdout)
        let fingerprint = try keygen(["-l", "-f", s.key + ".pub"]).checked("ssh-keygen -l").stdout
            .split(separator: " ")[1]
        #expect(
            configured.stderr.contains("Confirm user presence for key \(Self.displayName(type)) \(fingerprint)\n"),
            "\(configured)"
        )
        let environment = try s.run("list-ids", environment: ["SSH_SK_PROVIDER": s.library])
        #expect(environment.status == 0, "\(environment)\n\(s.sshd.log)")
        #expect(environment.stdout == expected.stdout)
        // ssh.c: SecurityKeyProvider wins over SSH_SK_PROVIDER.
        let both = try s.run(
            "list-ids",
            ["-o", "SecurityKeyProvider=\(s.library)"],
            environment: ["SSH_SK_PROVIDER": s.dir.path("no-such-library.so")]
        )
        #expect(both.status == 0, "\(both)")
        let wrong = try s.run(
            "list-ids",
            ["-o", "SecurityKeyProvider=\(s.dir.path("no-such-library.so"))"],
            environment: ["SSH_SK_PROVIDER": s.library]
        )
        #expect(wrong.status == 1, "\(wrong)")
    }

    @Test("~/.ssh/id_ecdsa_sk and id_ed25519_sk are among the default identities", arguments: types)
    func defaultIdentity(_ type: String) throws {
        let s = try Setup(type: type)
        try s.authorize()
        let ssh = s.dir.path("home/.ssh")
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        let name = type == "ecdsa-sk" ? "id_ecdsa_sk" : "id_ed25519_sk"
        try FileManager.default.copyItem(atPath: s.key, toPath: ssh + "/" + name)
        let r = try s.run("list-ids", environment: ["SSH_SK_PROVIDER": s.library], identityFile: false)
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains("Confirm user presence for key \(Self.displayName(type)) "), "\(r)")
    }

    @Test("copy-id logs in with a security key and installs another key; OpenSSH logs in with it", arguments: types)
    func copyID(_ type: String) throws {
        let s = try Setup(type: type)
        try s.authorize()
        let other = s.dir.path("other")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", other]).checked("ssh-keygen")
        let r = try s.run("copy-id", ["-i", other + ".pub", "-o", "SecurityKeyProvider=\(s.library)"])
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stdout.contains("Number of key(s) added: 1"), "\(r)")
        let login = try s.sshd.sshLogin(identity: other, command: "id -un")
        #expect(login.status == 0, "\(login)")
    }

    @Test("rotate to a security key proves a login with it alone, then removes the old key", arguments: types)
    func rotate(_ type: String) throws {
        let s = try Setup(type: type)
        let old = s.dir.path("old")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "old", "-f", old]).checked("ssh-keygen")
        try s.authorize(publicKeyFile: old + ".pub")
        let r = try s.run(
            "rotate",
            ["-i", s.key, "--old", old + ".pub", "-o", "SecurityKeyProvider=\(s.library)"]
        )
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(r.stderr.contains("Confirm user presence for key \(Self.displayName(type)) "), "\(r)")
        let file = s.sshd.authorizedKeys() ?? ""
        #expect(file.contains(keyPart(try readText(s.key + ".pub"))), "\(file)")
        #expect(!file.contains(keyPart(try readText(old + ".pub"))), "\(file)")
    }

    @Test("without user presence sshd refuses, unless authorized_keys says no-touch-required", arguments: types)
    func noUserPresence(_ type: String) throws {
        let s = try Setup(type: type)
        try s.authorize()
        let untouched = SoftAuthenticator.environment([.flags: "0"])
        let refused = try s.run("list-ids", ["-o", "SecurityKeyProvider=\(s.library)"], environment: untouched)
        #expect(refused.status == 1, "\(refused)")
        let lines = refused.stderr.split(separator: "\n").filter { !$0.hasPrefix("Confirm user presence") }
        #expect(lines.count == 1, "\(refused)")
        #expect(lines.first?.contains("permission denied (publickey") == true, "\(refused)")

        try s.authorize(options: "no-touch-required")
        let accepted = try s.run("list-ids", ["-o", "SecurityKeyProvider=\(s.library)"], environment: untouched)
        #expect(accepted.status == 0, "\(accepted)\n\(s.sshd.log)")
    }

    @Test("a verify-required key asks for the PIN through SSH_ASKPASS and logs in with it")
    func verifyRequired() throws {
        let dir = try TempDir()
        let askpass = dir.path("askpass")
        let prompts = dir.path("prompts")
        try writeProgram(askpass, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(prompts)'\necho 4321\n")
        let environment = SoftAuthenticator.environment([.pin: "4321"]).merging([
            "SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": "",
        ]) { _, new in new }
        let s = try Setup(type: "ecdsa-sk", keygenOptions: ["verify-required"], environment: environment)
        try s.authorize()
        try? FileManager.default.removeItem(atPath: prompts)
        let r = try s.run("list-ids", ["-o", "SecurityKeyProvider=\(s.library)"], environment: environment)
        #expect(r.status == 0, "\(r)\n\(s.sshd.log)")
        #expect(try readText(prompts) == "Enter PIN for ECDSA-SK key \(s.key): \n")
    }
}
