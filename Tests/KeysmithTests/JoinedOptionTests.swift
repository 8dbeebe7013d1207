import Foundation
import KeysmithTestSupport
import Testing

/// Keys, a message, its signature and an allowed_signers file, all made by ssh-keygen.
private struct JoinedSetup {
    let dir: TempDir
    /// An Ed25519 key with the passphrase "pw".
    let key: String
    /// An Ed25519 key without a passphrase.
    let plain: String
    let message: Data
    let signers: String
    /// ssh-keygen's signature of `message` by `plain` in the namespace "file".
    let signature: String

    init() throws {
        self.dir = try TempDir()
        self.key = self.dir.path("k")
        self.plain = self.dir.path("u")
        try #require(try keygen(["-q", "-t", "ed25519", "-a", "2", "-N", "pw", "-C", "c", "-f", self.key]).status == 0)
        try #require(try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f", self.plain]).status == 0)
        self.message = Data("joined options\n".utf8)
        try self.dir.write("signers", "signer@example.com \(keyPart(try readText(self.plain + ".pub")))\n")
        self.signers = self.dir.path("signers")
        let signed = try keygen(["-Y", "sign", "-f", self.plain, "-n", "file"], input: self.message)
        try #require(signed.status == 0, "\(signed)")
        try self.dir.write("sig", signed.stdout)
        self.signature = self.dir.path("sig")
    }

    /// A copy of the passphrase-protected key (and its .pub) under `name`.
    func copyOfKey(_ name: String) throws -> String {
        let path = self.dir.path(name)
        try self.dir.write(name, try readText(self.key))
        try self.dir.write(name + ".pub", try readText(self.key + ".pub"), mode: 0o644)
        return path
    }
}

/// keysmith's spaced and joined spellings give the same result, and so do ssh-keygen's;
/// with `compare`, keysmith's output is ssh-keygen's.
private func expectBothSpellings(
    _ spaced: [String],
    _ joined: [String],
    keygen keygenSpaced: [String]? = nil,
    _ keygenJoined: [String]? = nil,
    input: Data? = nil,
    compare: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let ours = try keysmith(arguments: spaced, input: input)
    let oursJoined = try keysmith(arguments: joined, input: input)
    #expect(ours.status == 0, "\(ours)", sourceLocation: sourceLocation)
    #expect(oursJoined.status == 0, "\(joined): \(oursJoined)", sourceLocation: sourceLocation)
    #expect(oursJoined.stdout == ours.stdout, sourceLocation: sourceLocation)
    guard let keygenSpaced, let keygenJoined else { return }
    let theirs = try keygen(keygenSpaced, input: input)
    let theirsJoined = try keygen(keygenJoined, input: input)
    #expect(
        theirs.status == 0 && theirsJoined.status == 0,
        "\(theirs)\n\(theirsJoined)",
        sourceLocation: sourceLocation
    )
    #expect(theirsJoined.stdout == theirs.stdout, sourceLocation: sourceLocation)
    if compare { #expect(oursJoined.stdout == theirsJoined.stdout, sourceLocation: sourceLocation) }
}

@Suite("a short option's value may be joined to it (-ted25519) or spaced (-t ed25519), as with ssh-keygen")
struct JoinedOptionTests {
    @Test("generate: -t -b -C -f -N -m -a -Z")
    func generate() throws {
        let s = try JoinedSetup()
        for (name, arguments) in [
            ("spaced", ["-t", "ed25519", "-a", "2", "-Z", "aes128-ctr", "-N", "pw", "-C", "note"]),
            ("joined", ["-ted25519", "-a2", "-Zaes128-ctr", "-Npw", "-Cnote"]),
        ] {
            let path = s.dir.path("ed-\(name)")
            let made = try keysmith(arguments: ["generate", "-q"] + arguments + ["-f\(path)"])
            #expect(made.status == 0, "\(name): \(made)")
            let read = try keygen(["-y", "-P", "pw", "-f", path])
            #expect(read.status == 0 && read.stdout.hasPrefix("ssh-ed25519 ") && read.stdout.hasSuffix(" note\n"))
        }
        for (name, arguments) in [
            ("spaced", ["-t", "rsa", "-b", "1024", "-m", "pem", "-N", "pw=secret"]),
            ("joined", ["-trsa", "-b1024", "-mpem", "-Npw=secret"]),
        ] {
            let path = s.dir.path("rsa-\(name)")
            let made = try keysmith(arguments: ["generate", "-q"] + arguments + ["-f", path])
            #expect(made.status == 0, "\(name): \(made)")
            #expect(try readText(path).hasPrefix("-----BEGIN RSA PRIVATE KEY-----\n"))
            #expect(try keygen(["-l", "-f", path + ".pub"]).stdout.hasPrefix("1024 SHA256:"))
            #expect(try keygen(["-y", "-P", "pw=secret", "-f", path]).status == 0, "\(name)")
        }
        // ssh-keygen takes the same joined command line.
        let theirs = try keygen([
            "-q", "-ted25519", "-a2", "-Zaes128-ctr", "-Npw", "-Cnote", "-f\(s.dir.path("theirs"))",
        ])
        #expect(theirs.status == 0, "\(theirs)")
    }

    @Test("public: -f -P, as ssh-keygen -y")
    func publicKey() throws {
        let s = try JoinedSetup()
        try expectBothSpellings(
            ["public", "-f", s.key, "-P", "pw"],
            ["public", "-f\(s.key)", "-Ppw"],
            keygen: ["-y", "-f", s.key, "-P", "pw"],
            ["-y", "-f\(s.key)", "-Ppw"]
        )
    }

    @Test("fingerprint: -f -E, as ssh-keygen -l")
    func fingerprint() throws {
        let s = try JoinedSetup()
        try expectBothSpellings(
            ["fingerprint", "-f", s.key + ".pub", "-E", "md5"],
            ["fingerprint", "-f\(s.key).pub", "-Emd5"],
            keygen: ["-l", "-f", s.key + ".pub", "-E", "md5"],
            ["-l", "-f\(s.key).pub", "-Emd5"]
        )
    }

    @Test("passphrase: -f -P -N -a, as ssh-keygen -p")
    func passphrase() throws {
        let s = try JoinedSetup()
        let spaced = try s.copyOfKey("p1")
        let joined = try s.copyOfKey("p2")
        let theirs = try s.copyOfKey("p3")
        #expect(try keysmith(arguments: ["passphrase", "-f", spaced, "-P", "pw", "-N", "new", "-a", "2"]).status == 0)
        let r = try keysmith(arguments: ["passphrase", "-f\(joined)", "-Ppw", "-Nnew", "-a2"])
        #expect(r.status == 0, "\(r)")
        #expect(try keygen(["-p", "-f\(theirs)", "-Ppw", "-Nnew", "-a2"]).status == 0)
        for path in [spaced, joined, theirs] {
            #expect(try keygen(["-y", "-P", "new", "-f", path]).status == 0, "\(path)")
        }
    }

    @Test("comment: -f -P -C, as ssh-keygen -c")
    func comment() throws {
        let s = try JoinedSetup()
        let spaced = try s.copyOfKey("c1")
        let joined = try s.copyOfKey("c2")
        let theirs = try s.copyOfKey("c3")
        #expect(try keysmith(arguments: ["comment", "-f", spaced, "-P", "pw", "-C", "renamed"]).status == 0)
        let r = try keysmith(arguments: ["comment", "-f\(joined)", "-Ppw", "-Crenamed"])
        #expect(r.status == 0, "\(r)")
        #expect(try keygen(["-c", "-f\(theirs)", "-Ppw", "-Crenamed"]).status == 0)
        for path in [spaced, joined, theirs] {
            #expect(try keygen(["-y", "-P", "pw", "-f", path]).stdout.hasSuffix(" renamed\n"), "\(path)")
        }
    }

    @Test("convert: -f -P")
    func convert() throws {
        let s = try JoinedSetup()
        try expectBothSpellings(
            ["convert", "-f", s.key, "-P", "pw", "--public", "--to", "rfc4716"],
            ["convert", "-f\(s.key)", "-Ppw", "--public", "--to", "rfc4716"],
            keygen: ["-e", "-f", s.key + ".pub"],
            ["-e", "-f\(s.key).pub"],
            compare: false
        )
    }

    @Test("known-hosts find, remove and hash: -f, as ssh-keygen -F / -R / -H")
    func knownHosts() throws {
        let s = try JoinedSetup()
        let line =
            "host.example \(keyPart(try readText(s.plain + ".pub")))\nother.example \(keyPart(try readText(s.key + ".pub")))\n"
        try s.dir.write("kh", line)
        let kh = s.dir.path("kh")
        try expectBothSpellings(
            ["known-hosts", "find", "-f", kh, "host.example"],
            ["known-hosts", "find", "-f\(kh)", "host.example"],
            keygen: ["-F", "host.example", "-f", kh],
            ["-F", "host.example", "-f\(kh)"]
        )
        for command in ["remove", "hash"] {
            try s.dir.write("spaced", line)
            try s.dir.write("joined", line)
            let arguments = command == "remove" ? ["host.example"] : []
            let spaced = try keysmith(arguments: ["known-hosts", command, "-f", s.dir.path("spaced")] + arguments)
            let joined = try keysmith(arguments: ["known-hosts", command, "-f\(s.dir.path("joined"))"] + arguments)
            #expect(spaced.status == 0 && joined.status == 0, "\(spaced)\n\(joined)")
            let after = try s.dir.readText("joined")
            #expect(after != line)
            if command == "remove" { #expect(after == (try s.dir.readText("spaced"))) }
        }
    }

    @Test("sign: -f -n -O, byte for byte as ssh-keygen -Y sign")
    func sign() throws {
        let s = try JoinedSetup()
        try expectBothSpellings(
            ["sign", "-f", s.plain, "-n", "file", "-O", "hashalg=sha256"],
            ["sign", "-f\(s.plain)", "-nfile", "-Ohashalg=sha256"],
            keygen: ["-Y", "sign", "-f", s.plain, "-n", "file", "-O", "hashalg=sha256"],
            ["-Y", "sign", "-f\(s.plain)", "-nfile", "-Ohashalg=sha256"],
            input: s.message
        )
    }

    @Test("verify: -f -I -n -s -O, as ssh-keygen -Y verify")
    func verify() throws {
        let s = try JoinedSetup()
        let spaced = [
            "-f", s.signers, "-I", "signer@example.com", "-n", "file", "-s", s.signature, "-O", "verify-time=19850101",
        ]
        let joined = [
            "-f\(s.signers)", "-Isigner@example.com", "-nfile", "-s\(s.signature)", "-Overify-time=19850101",
        ]
        try expectBothSpellings(
            ["verify"] + spaced,
            ["verify"] + joined,
            keygen: ["-Y", "verify"] + spaced,
            ["-Y", "verify"] + joined,
            input: s.message
        )
    }

    @Test("check-novalidate: -n -s, as ssh-keygen -Y check-novalidate")
    func checkNoValidate() throws {
        let s = try JoinedSetup()
        try expectBothSpellings(
            ["check-novalidate", "-n", "file", "-s", s.signature],
            ["check-novalidate", "-nfile", "-s\(s.signature)"],
            keygen: ["-Y", "check-novalidate", "-n", "file", "-s", s.signature],
            ["-Y", "check-novalidate", "-nfile", "-s\(s.signature)"],
            input: s.message
        )
    }

    @Test("find-principals: -s -f -O, as ssh-keygen -Y find-principals")
    func findPrincipals() throws {
        let s = try JoinedSetup()
        let spaced = ["-s", s.signature, "-f", s.signers, "-O", "verify-time=19850101"]
        let joined = ["-s\(s.signature)", "-f\(s.signers)", "-Overify-time=19850101"]
        try expectBothSpellings(
            ["find-principals"] + spaced,
            ["find-principals"] + joined,
            keygen: ["-Y", "find-principals"] + spaced,
            ["-Y", "find-principals"] + joined
        )
    }

    @Test("challenge respond: -f -P")
    func challengeRespond() throws {
        let s = try JoinedSetup()
        let issued = try keysmith(arguments: [
            "challenge", "issue", "--state", s.dir.path("state"), "--audience", "a.example",
        ])
        try #require(issued.status == 0, "\(issued)")
        let token = issued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try expectBothSpellings(
            ["challenge", "respond", "--audience", "a.example", "-f", s.key, "-P", "pw", token],
            ["challenge", "respond", "--audience", "a.example", "-f\(s.key)", "-Ppw", token]
        )
    }

    @Test("serve: -p (the same refusal of a missing host key with either spelling)")
    func serve() throws {
        let s = try JoinedSetup()
        let rest = ["--listen", "127.0.0.1", "--host-key", s.dir.path("missing"), "--authorized-keys", s.signers]
        let spaced = try keysmith(arguments: ["serve", "-p", "0"] + rest)
        let joined = try keysmith(arguments: ["serve", "-p0"] + rest)
        #expect(spaced.status == 1 && joined.status == 1, "\(spaced)\n\(joined)")
        #expect(joined.stderr == spaced.stderr)
    }

    @Test("rotate: -i (the same refusal of a missing new key with either spelling)")
    func rotate() throws {
        let s = try JoinedSetup()
        let rest = ["--old", s.plain + ".pub", "-p1", "-F/dev/null", "user@127.0.0.1"]
        let spaced = try keysmith(arguments: ["rotate", "-i", s.dir.path("missing")] + rest)
        let joined = try keysmith(arguments: ["rotate", "-i\(s.dir.path("missing"))"] + rest)
        #expect(spaced.status == 1 && joined.status == 1, "\(spaced)\n\(joined)")
        #expect(joined.stderr == spaced.stderr)
        #expect(joined.stderr.contains("does not exist"), "\(joined)")
    }

    @Test("copy-id, list-ids and remove-id: -i -p -o -F -t against OpenSSH's sshd")
    func deploy() throws {
        let s = try CopyIDTests.Setup()
        let password = Data((s.sshd.password + "\n").utf8)
        let environment = ["HOME": s.dir.path("home"), "SSH_AUTH_SOCK": ""]
        let spaced = [
            "-p", String(s.sshd.port), "-o", "UserKnownHostsFile=\(s.knownHosts)", "-F", "/dev/null", "-t",
            ".ssh/authorized_keys", "--password-stdin",
        ]
        let joined = [
            "-p\(s.sshd.port)", "-oUserKnownHostsFile=\(s.knownHosts)", "-F/dev/null", "-t.ssh/authorized_keys",
            "--password-stdin",
        ]
        func run(_ arguments: [String]) throws -> ProcessResult {
            try runProcess(keysmithPath, arguments + [s.destination], input: password, environment: environment)
        }
        let copied = try run(["copy-id", "-i\(s.key).pub"] + joined)
        #expect(copied.status == 0 && copied.stdout.contains("Number of key(s) added: 1"), "\(copied)")
        #expect(try s.sshd.sshLogin(identity: s.key).status == 0)
        let listed = try run(["list-ids"] + joined)
        #expect(listed.status == 0 && listed.stdout.contains("deploy@test"), "\(listed)")
        #expect(listed.stdout == (try run(["list-ids"] + spaced)).stdout)
        let removed = try run(["remove-id", "-i\(s.key).pub"] + joined)
        #expect(removed.status == 0, "\(removed)")
        #expect(!(s.sshd.authorizedKeys() ?? "").contains("deploy@test"))
    }
}
