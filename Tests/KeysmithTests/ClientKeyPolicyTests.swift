import Foundation
import KeysmithTestSupport
import Testing

/// PubkeyAcceptedAlgorithms and RequiredRSASize in keysmith's client against OpenSSH's sshd,
/// with OpenSSH's ssh given the same options as the oracle: sshd's DEBUG3 log names each key
/// a client queried or signed with and the algorithm it used (auth2-pubkey.c
/// "valid user USER querying public key ALG KEY").
@Suite("PubkeyAcceptedAlgorithms and RequiredRSASize against sshd, as ssh")
struct ClientKeyPolicyTests {
    struct Setup {
        let sshd: SSHDFixture
        let dir: TempDir
        let ed25519: String
        let rsa: String
        let knownHosts: String

        init(extraConfig: [String] = []) throws {
            self.dir = try TempDir()
            try FileManager.default.createDirectory(atPath: self.dir.path("home"), withIntermediateDirectories: true)
            self.sshd = try SSHDFixture(extraConfig: ["LogLevel DEBUG3"] + extraConfig)
            self.ed25519 = self.dir.path("id_ed25519")
            self.rsa = self.dir.path("id_rsa")
            _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", self.ed25519]).checked("ssh-keygen")
            _ = try keygen(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", self.rsa]).checked("ssh-keygen")
            let lines = try readText(self.ed25519 + ".pub") + readText(self.rsa + ".pub")
            try installAuthorizedKeys(self.sshd, Array(lines.utf8))
            self.knownHosts = try self.sshd.knownHostsFile()
        }

        /// What both clients are told: the Ed25519 then the RSA identity and nothing else,
        /// publickey alone, no prompt, then `extra` as `-o` options.
        func options(_ extra: [String]) -> [String] {
            [
                "-o", "IdentityFile=\(self.ed25519)", "-o", "IdentityFile=\(self.rsa)", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey",
                "-o", "UserKnownHostsFile=\(self.knownHosts)", "-o", "StrictHostKeyChecking=yes",
                "-p", String(self.sshd.port),
            ] + extra.flatMap { ["-o", $0] }
        }

        var destination: String { "\(self.sshd.user)@\(self.sshd.host)" }

        func keysmithRun(_ extra: [String]) throws -> ProcessResult {
            try runProcess(
                keysmithPath,
                ["list-ids"] + self.options(extra) + [self.destination],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        func sshRun(_ extra: [String]) throws -> ProcessResult {
            try runProcess(
                Tool.ssh,
                ["-F", "/dev/null"] + self.options(extra) + [self.destination, "true"],
                environment: ["HOME": self.dir.path("home"), "SSH_AUTH_SOCK": ""]
            )
        }

        /// Runs one client, and returns what it did and the keys sshd saw it query or sign
        /// with, in order, as "querying ALG KEY" / "attempting ALG KEY".
        func attempts(_ run: () throws -> ProcessResult) throws -> (ProcessResult, [String]) {
            let before = self.sshd.log.utf8.count
            let result = try run()
            let added = String(decoding: Array(self.sshd.log.utf8).dropFirst(before), as: UTF8.self)
            // "userauth_pubkey: valid user USER querying public key ALG BASE64 [preauth]"
            let seen = added.split(whereSeparator: \.isNewline).compactMap { line -> String? in
                guard let range = line.range(of: "valid user \(self.sshd.user) ") else { return nil }
                let words = line[range.upperBound...].split(separator: " ")
                guard words.count >= 5, words[1] == "public", words[2] == "key" else { return nil }
                return "\(words[0]) \(words[3]) \(words[4])"
            }
            return (result, seen)
        }
    }

    @Test(
        "an identity PubkeyAcceptedAlgorithms excludes is not offered; an RSA key signs with the algorithm the list allows, as by ssh",
        arguments: [
            // The options; whether the Ed25519 identity is offered; the algorithm the last
            // (successful) signature used.
            (["PubkeyAcceptedAlgorithms=-ssh-ed25519"], false, "rsa-sha2-512"),
            (["PubkeyAcceptedAlgorithms=rsa-sha2-256"], false, "rsa-sha2-256"),
            (["PubkeyAcceptedKeyTypes=rsa-sha2-256,rsa-sha2-512"], false, "rsa-sha2-256"),
            (["PubkeyAcceptedAlgorithms=^rsa-sha2-256"], true, "ssh-ed25519"),
            (["PubkeyAcceptedAlgorithms=-rsa-sha2-*"], true, "ssh-ed25519"),
            (["RequiredRSASize=2048", "PubkeyAcceptedAlgorithms=rsa-sha2-512,ssh-rsa"], false, "rsa-sha2-512"),
            // The list's first RSA entry that server-sig-algs names is ssh-rsa, which sshd
            // 9.2 lists and then refuses: both clients sign with it and fail.
            (["PubkeyAcceptedAlgorithms=ssh-rsa,rsa-sha2-512"], false, "ssh-rsa"),
        ] as [([String], Bool, String)]
    )
    func offeredAsSSH(options: [String], offersEd25519: Bool, signedWith: String) throws {
        let s = try Setup()
        let (ssh, sshSeen) = try s.attempts { try s.sshRun(options) }
        let (ours, oursSeen) = try s.attempts { try s.keysmithRun(options) }
        let logsIn = signedWith != "ssh-rsa"
        #expect(ours.status == (logsIn ? 0 : 1), "\(ours)\n\(s.sshd.log)")
        #expect(ssh.status == (logsIn ? 0 : 255), "\(ssh)")
        #expect(oursSeen == sshSeen, "keysmith: \(oursSeen)\nssh: \(sshSeen)")
        // sshd refuses ssh-rsa at the query, before any signature.
        #expect(oursSeen.last?.hasPrefix("\(logsIn ? "attempting" : "querying") \(signedWith) ") == true, "\(oursSeen)")
        #expect(oursSeen.contains { $0.contains(" ssh-ed25519 ") } == offersEd25519, "\(oursSeen)")
    }

    @Test(
        "a list that leaves no usable identity offers none and fails with one sentence, as ssh fails",
        arguments: [
            ["PubkeyAcceptedAlgorithms=ecdsa-sha2-nistp256"],
            ["PubkeyAcceptedAlgorithms=ssh-ed25519-cert-v01@openssh.com,rsa-sha2-512", "RequiredRSASize=4096"],
        ]
    )
    func nothingLeft(options: [String]) throws {
        let s = try Setup()
        let (ssh, sshSeen) = try s.attempts { try s.sshRun(options) }
        let (ours, oursSeen) = try s.attempts { try s.keysmithRun(options) }
        #expect(ssh.status == 255)
        #expect(ssh.stderr.contains("Permission denied (publickey"), "\(ssh)")
        #expect(sshSeen.isEmpty && oursSeen.isEmpty, "keysmith: \(oursSeen)\nssh: \(sshSeen)")
        #expect(ours.status == 1, "\(ours)")
        let complaint = ours.stderr.split(separator: "\n").filter { !$0.hasPrefix("keysmith: INFO:") }
        #expect(complaint.count == 1, "\(ours)")
        #expect(ours.stderr.contains("permission denied (publickey"), "\(ours)")
        #expect(
            ours.stderr.contains(
                "skipped ssh-ed25519 key \(s.ed25519): its algorithm is not in PubkeyAcceptedAlgorithms"
            )
        )
    }

    @Test(
        "an encrypted identity the list leaves out is skipped before its passphrase is asked for, as by ssh",
        arguments: [
            ([String](), true), (["PubkeyAcceptedAlgorithms=rsa-sha2-512"], false), (["RequiredRSASize=1024"], true),
        ]
    )
    func noPassphraseAsked(extra: [String], asked: Bool) throws {
        let s = try Setup()
        let locked = s.dir.path("id_locked")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "secret", "-f", locked]).checked("ssh-keygen")
        // sshd knows it, so ssh (which offers the public key first) asks for it when it may offer it.
        let lines = try readText(locked + ".pub") + readText(s.rsa + ".pub")
        try installAuthorizedKeys(s.sshd, Array(lines.utf8))
        let askpass = s.dir.path("askpass")
        try writeText(askpass, "#!/bin/sh\necho asked >> '\(s.dir.path("asked"))'\necho secret\n", mode: 0o755)
        let arguments =
            [
                "-o", "IdentityFile=\(locked)", "-o", "IdentityFile=\(s.rsa)", "-o", "IdentitiesOnly=yes",
                "-o", "PreferredAuthentications=publickey", "-o", "UserKnownHostsFile=\(s.knownHosts)",
                "-o", "StrictHostKeyChecking=yes", "-p", String(s.sshd.port),
            ] + extra.flatMap { ["-o", $0] }
        let environment = [
            "HOME": s.dir.path("home"), "SSH_AUTH_SOCK": "", "SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": ":0",
        ]
        func timesAsked() throws -> Int {
            let text = (try? readText(s.dir.path("asked"))) ?? ""
            try writeText(s.dir.path("asked"), "", mode: 0o644)
            return text.split(separator: "\n").count
        }
        let ssh = try runProcess(
            Tool.ssh,
            ["-F", "/dev/null"] + arguments + [s.destination, "true"],
            environment: environment
        )
        #expect(ssh.status == 0, "\(ssh)")
        #expect(try timesAsked() == (asked ? 1 : 0))
        let ours = try runProcess(keysmithPath, ["list-ids"] + arguments + [s.destination], environment: environment)
        #expect(ours.status == 0, "\(ours)")
        #expect(try timesAsked() == (asked ? 1 : 0), "\(ours)")
    }

    @Test("an RSA host key below RequiredRSASize is refused before known_hosts is read, as ssh refuses it")
    func smallHostKey() throws {
        let s = try Setup()
        let options = ["HostKeyAlgorithms=rsa-sha2-512", "RequiredRSASize=3072"]
        let ssh = try s.sshRun(options)
        #expect(ssh.status == 255)
        #expect(ssh.stderr.contains("Bad server host key: Invalid key length"), "\(ssh)")
        let ours = try s.keysmithRun(options)
        #expect(ours.status == 1, "\(ours)")
        #expect(ours.stderr.contains("Bad server host key: Invalid key length"), "\(ours)")
        #expect(ours.stderr.split(separator: "\n").filter { !$0.hasPrefix("keysmith: INFO:") }.count == 1, "\(ours)")
        // At the default, the same key is accepted by both.
        #expect(try s.sshRun(["HostKeyAlgorithms=rsa-sha2-512"]).status == 0)
        #expect(try s.keysmithRun(["HostKeyAlgorithms=rsa-sha2-512"]).status == 0)
    }
}
