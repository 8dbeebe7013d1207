import Foundation
import KeysmithTestSupport
import Testing

/// A git repository in a temporary HOME, signing with SSH keys through `gpg.ssh.program`:
/// keysmith's `ssh-keygen` link or OpenSSH's own ssh-keygen. Dates are fixed, so two
/// repositories given the same commands and an Ed25519 key make the same commits.
private struct SigningRepository {
    static let git = "/usr/bin/git"
    static let date = "2024-03-04T05:06:07Z"

    let home: TempDir
    let path: String
    var environment: [String: String]

    init(program: String, keys: TempDir) throws {
        self.home = try TempDir()
        self.path = self.home.path("repo")
        self.environment = [
            "HOME": self.home.url.path, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_DATE": Self.date,
            "GIT_COMMITTER_DATE": Self.date, "SSH_AUTH_SOCK": "", "TZ": "UTC", "LANG": "C", "LC_ALL": "C",
        ]
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
        _ = try self.git(["init", "-q"]).checked("git init")
        for (name, value) in [
            ("user.name", "Alice"), ("user.email", "alice@example.com"), ("gpg.format", "ssh"),
            ("gpg.ssh.program", program), ("gpg.ssh.allowedSignersFile", keys.path("allowed_signers")),
        ] {
            _ = try self.git(["config", name, value]).checked("git config")
        }
    }

    @discardableResult
    func git(_ arguments: [String], input: Data? = nil) throws -> ProcessResult {
        try runProcess(
            Self.git,
            arguments,
            input: input,
            environment: self.environment,
            directory: URL(fileURLWithPath: self.path)
        )
    }

    /// A signed commit of a new file, and a signed tag on it.
    func commitAndTag(_ name: String) throws {
        try writeText(self.path + "/\(name).txt", "\(name)\n", mode: 0o644)
        _ = try self.git(["add", "\(name).txt"]).checked("git add")
        _ = try self.git(["commit", "-q", "-S", "-m", "add \(name)"]).checked("git commit -S")
        _ = try self.git(["tag", "-s", "-m", "tag \(name)", "v-\(name)"]).checked("git tag -s")
    }

    /// A copy of HEAD's commit with its message changed and its signature kept.
    func tamperedCommit() throws -> String {
        let original = try self.git(["cat-file", "commit", "HEAD"]).checked("git cat-file").stdout
        let tampered = original.replacingOccurrences(of: "\nadd ", with: "\nremove ")
        return try self.git(["hash-object", "-t", "commit", "-w", "--stdin"], input: Data(tampered.utf8))
            .checked("git hash-object").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What git prints for each way of checking signatures, status included.
    func verification(_ objects: [String]) throws -> [String] {
        var out: [String] = []
        for object in objects {
            for command in [
                ["verify-commit", object], ["verify-commit", "-v", object], ["log", "--show-signature", "-1", object],
            ] {
                out.append("\(command): \(try self.git(command))")
            }
        }
        out.append("verify-tag: \(try self.git(["verify-tag", "v-one"]))")
        out.append("verify-tag -v: \(try self.git(["verify-tag", "-v", "v-one"]))")
        return out
    }
}

/// Keys made by ssh-keygen in a directory of their own, and the allowed_signers file.
private func makeKeys(_ type: [String] = ["-t", "ed25519"]) throws -> (dir: TempDir, line: String) {
    let dir = try TempDir()
    _ = try keygen(["-q"] + type + ["-N", "", "-C", "alice@laptop", "-f", dir.path("id")]).checked("ssh-keygen")
    let line = keyPart(try readText(dir.path("id.pub")))
    try dir.write("allowed_signers", "alice@example.com \(line)\n")
    return (dir, line)
}

@Suite("git signs and verifies with SSH keys through keysmith's ssh-keygen link")
struct GitSigningTests {
    @Test("commit -S, tag -s, verify-commit, verify-tag and log --show-signature print what they print with ssh-keygen")
    func sameAsSSHKeygen() throws {
        let link = try KeygenSignatureLink()
        let keys = try makeKeys()
        var transcripts: [[String]] = []
        for program in [link.path, Tool.sshKeygen] {
            let repo = try SigningRepository(program: program, keys: keys.dir)
            _ = try repo.git(["config", "user.signingkey", keys.dir.path("id.pub")]).checked("git config")
            try repo.commitAndTag("one")
            let tampered = try repo.tamperedCommit()
            var transcript = try repo.verification(["HEAD", tampered])
            // A key the allowed signers file does not list.
            try keys.dir.write("unknown_signers", "bob@example.com \(try makeKeys().line)\n")
            _ = try repo.git(["config", "gpg.ssh.allowedSignersFile", keys.dir.path("unknown_signers")]).checked(
                "git config"
            )
            transcript += try repo.verification(["HEAD"])
            transcripts.append(transcript)
        }
        #expect(transcripts[0].count == transcripts[1].count)
        for (ours, theirs) in zip(transcripts[0], transcripts[1]) {
            #expect(ours == theirs)
        }
        // The good commit verified, the tampered one did not, the unknown key did not.
        #expect(transcripts[0][0].hasPrefix("[\"verify-commit\", \"HEAD\"]: exit 0"))
        #expect(transcripts[0][3].hasPrefix("[\"verify-commit\", "), "\(transcripts[0][3])")
        #expect(!transcripts[0][3].contains(": exit 0"))
    }

    @Test(
        "commits signed through the link verify with ssh-keygen, and the other way",
        arguments: [["-t", "ed25519"], ["-t", "rsa", "-b", "2048"], ["-t", "ecdsa", "-b", "384"]]
    )
    func crossVerification(_ type: [String]) throws {
        let link = try KeygenSignatureLink()
        let keys = try makeKeys(type)
        for (signer, verifier) in [(link.path, Tool.sshKeygen), (Tool.sshKeygen, link.path)] {
            let repo = try SigningRepository(program: signer, keys: keys.dir)
            _ = try repo.git(["config", "user.signingkey", keys.dir.path("id")]).checked("git config")
            try repo.commitAndTag("one")
            _ = try repo.git(["config", "gpg.ssh.program", verifier]).checked("git config")
            let verify = try repo.git(["verify-commit", "HEAD"])
            #expect(verify.status == 0, "\(verify)")
            #expect(verify.stderr.contains("Good \"git\" signature for alice@example.com with "))
            #expect(try repo.git(["verify-tag", "v-one"]).status == 0)
        }
    }

    @Test("a security key and a certificate sign commits through the link")
    func securityKeyAndCertificate() throws {
        let link = try KeygenSignatureLink()
        let keys = try TempDir()
        let sk = try SecurityKeyOpenSSHTests.makeKey("ed25519-sk", in: keys)
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", keys.path("ca")]).checked("ssh-keygen")
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-f", keys.path("id")]).checked("ssh-keygen")
        _ = try keygen([
            "-q", "-s", keys.path("ca"), "-I", "alice", "-n", "alice@example.com", keys.path("id.pub"),
        ]).checked("ssh-keygen -s")
        try keys.write(
            "allowed_signers",
            "alice@example.com \(sk.line)\nalice@example.com cert-authority \(keyPart(try readText(keys.path("ca.pub"))))\n"
        )
        for (signingKey, keyType) in [(sk.path, "ED25519-SK"), (keys.path("id-cert.pub"), "ED25519-CERT")] {
            var repo = try SigningRepository(program: link.path, keys: keys)
            repo.environment["SSH_SK_PROVIDER"] = try SoftAuthenticator.path()
            _ = try repo.git(["config", "user.signingkey", signingKey]).checked("git config")
            try repo.commitAndTag("one")
            for program in [link.path, Tool.sshKeygen] {
                _ = try repo.git(["config", "gpg.ssh.program", program]).checked("git config")
                let verify = try repo.git(["verify-commit", "HEAD"])
                #expect(verify.status == 0, "\(program): \(verify)")
                #expect(verify.stderr.contains("signature for alice@example.com with \(keyType) key"), "\(verify)")
            }
        }
    }

    @Test("user.signingkey as a key:: literal and gpg.ssh.defaultKeyCommand sign through ssh-agent")
    func agentKeys() throws {
        let link = try KeygenSignatureLink()
        let keys = try makeKeys()
        let agent = try SSHAgentFixture()
        _ = try runProcess("/usr/bin/ssh-add", [keys.dir.path("id")], environment: ["SSH_AUTH_SOCK": agent.socket])
            .checked("ssh-add")
        let configurations: [[(String, String)]] = [
            [("user.signingkey", "key::\(keys.line)")],
            [("gpg.ssh.defaultKeyCommand", "/usr/bin/ssh-add -L")],
        ]
        for configuration in configurations {
            var transcripts: [String] = []
            for program in [link.path, Tool.sshKeygen] {
                var repo = try SigningRepository(program: program, keys: keys.dir)
                repo.environment["SSH_AUTH_SOCK"] = agent.socket
                for (name, value) in configuration { _ = try repo.git(["config", name, value]).checked("git config") }
                try repo.commitAndTag("one")
                transcripts.append(try repo.verification(["HEAD"]).joined(separator: "\n"))
                _ = try repo.git(["config", "gpg.ssh.program", Tool.sshKeygen]).checked("git config")
                #expect(try repo.git(["verify-commit", "HEAD"]).status == 0)
            }
            #expect(transcripts[0] == transcripts[1])
            #expect(transcripts[0].contains("Good \"git\" signature for alice@example.com with ED25519 key"))
        }
        // Without the agent, a key:: literal cannot sign: git says so, as with ssh-keygen.
        var failures: [String] = []
        for program in [link.path, Tool.sshKeygen] {
            let repo = try SigningRepository(program: program, keys: keys.dir)
            _ = try repo.git(["config", "user.signingkey", "key::\(keys.line)"]).checked("git config")
            try writeText(repo.path + "/a.txt", "a\n", mode: 0o644)
            _ = try repo.git(["add", "a.txt"]).checked("git add")
            let commit = try repo.git(["commit", "-q", "-S", "-m", "a"])
            #expect(commit.status != 0)
            failures.append("\(commit.status) \(commit.stdout)")
        }
        #expect(failures[0] == failures[1])
    }
}
