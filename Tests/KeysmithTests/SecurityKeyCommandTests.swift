import Foundation
import KeysmithTestSupport
import Testing

/// generate, sign and challenge respond with security keys, through the software
/// authenticator of Tests/Fixtures (an OpenSSH middleware library), checked against
/// ssh-keygen using the same library with -w.
@Suite("security keys: generate, sign and respond through a provider, as ssh-keygen")
struct SecurityKeyCommandTests {
    static let types = ["ed25519-sk", "ecdsa-sk"]

    /// What the private key file at `path` (unencrypted) keeps for the authenticator:
    /// the application and the flags byte.
    static func credential(_ path: String) throws -> (application: String, flags: UInt8) {
        let parts = try #require(OpenSSHKeyBytes.unencrypted(try readText(path)))
        var bytes = parts.afterCheckInts[...]
        func string() throws -> ArraySlice<UInt8> {
            try #require(bytes.count >= 4)
            let n = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.dropFirst(4)
            try #require(bytes.count >= n)
            defer { bytes = bytes.dropFirst(n) }
            return bytes.prefix(n)
        }
        let type = try string()
        if type.elementsEqual("sk-ecdsa-sha2-nistp256@openssh.com".utf8) { _ = try string() }
        _ = try string()
        let application = String(decoding: try string(), as: UTF8.self)
        return (application, try #require(bytes.first))
    }

    /// An allowed_signers file naming `identity` for the key of `pub`.
    static func allowedSigners(_ dir: TempDir, identity: String, pub: String) throws -> String {
        let path = dir.path("allowed_signers")
        try writeText(path, "\(identity) \(keyPart(try readText(pub)))\n", mode: 0o644)
        return path
    }

    /// ssh-keygen -Y verify of `signature` over `message` by "me" in `allowed`.
    static func keygenVerify(
        _ allowed: String,
        signature: String,
        message: String,
        namespace: String = "file"
    ) throws -> ProcessResult {
        try keygen(
            ["-Y", "verify", "-f", allowed, "-I", "me", "-n", namespace, "-s", signature],
            input: Data(message.utf8)
        )
    }

    /// An askpass program that answers `answer` to every prompt and records the prompts in
    /// the returned file, and the environment that makes keysmith and ssh-keygen run it,
    /// with the software authenticator wanting the PIN 4321.
    static func pinAskpass(_ dir: TempDir, answer: String) throws -> (prompts: String, environment: [String: String]) {
        let askpass = dir.path("askpass")
        let prompts = dir.path("prompts")
        try writeProgram(askpass, "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(prompts)'\necho \(answer)\n")
        let environment = SoftAuthenticator.environment([.pin: "4321"]).merging([
            "SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": "",
        ]) { _, new in new }
        return (prompts, environment)
    }

    @Test(
        "a key keysmith generates is ssh-keygen's: read with -y and -l, and it signs with ssh-keygen -Y sign -w",
        arguments: types
    )
    func generate(_ type: String) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id_sk")
        let r = try keysmith("generate", "-t", type, "-w", library, "-f", key, "-N", "", "-C", "made here")
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("You may need to touch your authenticator to authorize key generation."), "\(r)")
        let display = type == "ecdsa-sk" ? "ECDSA-SK" : "ED25519-SK"
        #expect(r.stdout.contains("[\(display) 256]-"), "\(r.stdout)")
        #expect(try fileMode(key) == 0o600)
        let y = try keygen(["-y", "-f", key]).checked("ssh-keygen -y")
        #expect(y.stdout == (try readText(key + ".pub")))
        #expect(y.stdout.hasSuffix(" made here\n"))
        #expect(try keygen(["-l", "-f", key]).stdout == (try keysmith("fingerprint", "-f", key)).stdout)
        let credential = try Self.credential(key)
        #expect(credential.application == "ssh:")
        #expect(credential.flags == 0x01)

        // The key handle is what the authenticator needs: ssh-keygen signs with it.
        try writeText(dir.path("msg"), "a message\n")
        _ = try keygen(["-Y", "sign", "-w", library, "-f", key, "-n", "file", dir.path("msg")]).checked("-Y sign")
        let allowed = try Self.allowedSigners(dir, identity: "me", pub: key + ".pub")
        let v = try Self.keygenVerify(allowed, signature: dir.path("msg.sig"), message: "a message\n")
        #expect(v.status == 0, "\(v)")
    }

    @Test("keysmith's signatures with ssh-keygen's security keys verify with ssh-keygen -Y verify", arguments: types)
    func sign(_ type: String) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id_sk")
        _ = try keygen(["-q", "-t", type, "-w", library, "-f", key, "-N", "pw", "-a", "2", "-C", "theirs"])
            .checked("ssh-keygen -t \(type)")
        let allowed = try Self.allowedSigners(dir, identity: "me", pub: key + ".pub")
        try writeText(dir.path("msg"), "signed by keysmith\n")
        for counter in ["1", "4096"] {
            let r = try runProcess(
                keysmithPath,
                ["sign", "-f", key, "-P", "pw", "-w", library, "-n", "file", dir.path("msg")],
                environment: SoftAuthenticator.environment([.counter: counter])
            )
            #expect(r.status == 0, "\(r)")
            #expect(r.stderr.contains("Confirm user presence for key "), "\(r)")
            let v = try Self.keygenVerify(allowed, signature: dir.path("msg.sig"), message: "signed by keysmith\n")
            #expect(v.status == 0, "\(v)")
            #expect(
                v.stdout.contains(
                    "Good \"file\" signature for me with \(type == "ecdsa-sk" ? "ECDSA-SK" : "ED25519-SK") key"
                )
            )
            try FileManager.default.removeItem(atPath: dir.path("msg.sig"))
        }

        // SSH_SK_PROVIDER names the provider when -w does not; standard input signs to standard output.
        let piped = try runProcess(
            keysmithPath,
            ["sign", "-f", key, "-P", "pw", "-n", "file"],
            input: Data("signed by keysmith\n".utf8),
            environment: ["SSH_SK_PROVIDER": library]
        )
        #expect(piped.status == 0, "\(piped)")
        try writeText(dir.path("piped.sig"), piped.stdout, mode: 0o644)
        let v = try Self.keygenVerify(allowed, signature: dir.path("piped.sig"), message: "signed by keysmith\n")
        #expect(v.status == 0, "\(v)")
    }

    @Test(
        "ssh-keygen's security-key files: public, fingerprint, passphrase and comment as ssh-keygen, byte for byte",
        arguments: types
    )
    func readsKeygenFiles(_ type: String) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id_sk")
        _ = try keygen(["-q", "-t", type, "-w", library, "-f", key, "-N", "pw", "-a", "2", "-C", "from ssh-keygen"])
            .checked("ssh-keygen -t \(type)")
        let line = try readText(key + ".pub")
        let ours = try keysmith("public", "-f", key, "-P", "pw")
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout == line)
        #expect(try keysmith("fingerprint", "-f", key).stdout == (try keygen(["-l", "-f", key])).stdout)
        try FileManager.default.removeItem(atPath: key + ".pub")
        #expect(try keysmith("fingerprint", "-f", key).stdout == (try keygen(["-l", "-f", key])).stdout)

        // Decrypted by keysmith and by ssh-keygen: the same private section.
        let theirs = dir.path("theirs")
        try FileManager.default.copyItem(atPath: key, toPath: theirs)
        _ = try keygen(["-q", "-p", "-P", "pw", "-N", "", "-f", theirs]).checked("ssh-keygen -p")
        let r = try keysmith("passphrase", "-f", key, "-P", "pw", "-N", "")
        #expect(r.status == 0, "\(r)")
        let plain = try #require(OpenSSHKeyBytes.unencrypted(try readText(key)))
        #expect(plain == OpenSSHKeyBytes.unencrypted(try readText(theirs)))

        // Re-commented by both: the same again.
        _ = try keygen(["-q", "-c", "-C", "renamed", "-P", "", "-f", theirs]).checked("ssh-keygen -c")
        #expect(try keysmith("comment", "-f", key, "-C", "renamed").status == 0)
        #expect(OpenSSHKeyBytes.unencrypted(try readText(key)) == OpenSSHKeyBytes.unencrypted(try readText(theirs)))

        // And it still signs on the authenticator after keysmith rewrote it.
        try writeText(dir.path("msg"), "m\n")
        _ = try keygen(["-Y", "sign", "-w", library, "-f", key, "-n", "file", dir.path("msg")]).checked("-Y sign")
        let allowed = dir.path("allowed")
        try writeText(allowed, "me \(keyPart(line))\n", mode: 0o644)
        let v = try Self.keygenVerify(allowed, signature: dir.path("msg.sig"), message: "m\n")
        #expect(v.status == 0, "\(v)")
    }

    @Test("challenge respond signs with a security key; ssh-keygen -Y verify accepts the answer")
    func respond() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id_sk")
        _ = try keygen(["-q", "-t", "ecdsa-sk", "-w", library, "-f", key, "-N", ""]).checked("ssh-keygen -t ecdsa-sk")
        let state = dir.path("state")
        let token = try keysmith("challenge", "issue", "--state", state, "--audience", "srv")
        try #require(token.status == 0, "\(token)")
        let text = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try keysmith("challenge", "respond", "-f", key, "-w", library, "--audience", "srv", text)
        #expect(r.status == 0, "\(r)")
        try writeText(dir.path("answer.sig"), r.stdout, mode: 0o644)
        let allowed = try Self.allowedSigners(dir, identity: "me", pub: key + ".pub")
        let v = try Self.keygenVerify(
            allowed,
            signature: dir.path("answer.sig"),
            message: text,
            namespace: "challenge@keysmith"
        )
        #expect(v.status == 0, "\(v)")
    }

    @Test(
        "-O options give the application and flags ssh-keygen gives",
        arguments: [
            ["application=ssh:work"], ["no-touch-required"], ["verify-required"], ["no-touch-required", "user=alice"],
            ["resident", "user=bob", "application=ssh:res"],
        ]
    )
    func options(_ options: [String]) throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        var environment: [SoftAuthenticator.Setting: String] = [:]
        if options.contains("resident") {
            let residents = dir.path("resident")
            try FileManager.default.createDirectory(atPath: residents, withIntermediateDirectories: true)
            environment[.residentDirectory] = residents
        }
        let flags = options.flatMap { ["-O", $0] }
        let ours = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519-sk", "-w", library, "-f", dir.path("ours"), "-N", ""] + flags,
            environment: SoftAuthenticator.environment(environment)
        )
        #expect(ours.status == 0, "\(ours)")
        let theirs = try runProcess(
            Tool.sshKeygen,
            ["-q", "-t", "ed25519-sk", "-w", library, "-f", dir.path("theirs"), "-N", ""] + flags
                + (options.contains("resident") ? ["-O", "user=carol"] : []),
            environment: SoftAuthenticator.environment(environment)
        )
        #expect(theirs.status == 0, "\(theirs)")
        let a = try Self.credential(dir.path("ours"))
        let b = try Self.credential(dir.path("theirs"))
        #expect(a.application == b.application)
        #expect(a.flags == b.flags, "\(options)")
        #expect(try keygen(["-y", "-f", dir.path("ours")]).status == 0)
    }

    @Test("a PIN is asked when the authenticator wants one, for generate and for sign")
    func pin() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let (prompts, environment) = try Self.pinAskpass(dir, answer: "4321")
        let key = dir.path("id_sk")
        let g = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ecdsa-sk", "-w", library, "-f", key, "-N", "", "-O", "verify-required"],
            environment: environment
        )
        #expect(g.status == 0, "\(g)")
        #expect(try readText(prompts) == "Enter PIN for authenticator: \n")
        #expect(try Self.credential(key).flags == 0x05)

        try writeText(dir.path("msg"), "m\n")
        let s = try runProcess(
            keysmithPath,
            ["sign", "-f", key, "-w", library, "-n", "file", dir.path("msg")],
            environment: environment
        )
        #expect(s.status == 0, "\(s)")
        // A verify-required key asks first, as ssh-keygen -Y sign does.
        #expect(try readText(prompts) == "Enter PIN for authenticator: \nEnter PIN for ECDSA-SK key: \n")
        let allowed = try Self.allowedSigners(dir, identity: "me", pub: key + ".pub")
        let v = try Self.keygenVerify(allowed, signature: dir.path("msg.sig"), message: "m\n")
        #expect(v.status == 0, "\(v)")
    }

    @Test("a wrong PIN is asked for again, as often as ssh-keygen asks, then refused; nothing written")
    func wrongPIN() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let (prompts, environment) = try Self.pinAskpass(dir, answer: "0000")
        let theirs = try runProcess(
            "/usr/bin/setsid",
            ["-w", Tool.sshKeygen, "-q", "-t", "ed25519-sk", "-w", library, "-f", dir.path("theirs"), "-N", ""],
            environment: environment
        )
        #expect(theirs.status != 0, "\(theirs)")
        let asked = try readText(prompts)
        try FileManager.default.removeItem(atPath: prompts)
        let ours = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ed25519-sk", "-w", library, "-f", dir.path("ours"), "-N", ""],
            environment: environment
        )
        #expect(ours.status == 1, "\(ours)")
        #expect(try readText(prompts) == asked, "as many PIN prompts as ssh-keygen")
        #expect(ours.stderr.hasSuffix("keysmith: too many incorrect PINs.\n"), "\(ours.stderr)")
        #expect(ours.stderr.components(separatedBy: "PIN incorrect\n").count - 1 == 2, "\(ours.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("ours")))
    }

    @Test("write-attestation= saves the attestation as ssh-keygen does")
    func attestation() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let challenge = dir.path("challenge")
        try writeText(challenge, String(repeating: "c", count: 32))
        for (tool, name) in [(keysmithPath, "ours"), (Tool.sshKeygen, "theirs")] {
            let prefix = tool == keysmithPath ? ["generate"] : []
            let r = try runProcess(
                tool,
                prefix + [
                    "-t", "ed25519-sk", "-w", library, "-f", dir.path(name), "-N", "",
                    "-O", "challenge=\(challenge)", "-O", "write-attestation=\(dir.path(name + ".att"))",
                ]
            )
            #expect(r.status == 0, "\(r)")
            #expect(
                r.stdout.contains("Your FIDO attestation certificate has been saved in \(dir.path(name + ".att"))\n")
            )
        }
        let ours = try readBytes(dir.path("ours.att"))
        let theirs = try readBytes(dir.path("theirs.att"))
        // The signatures differ (another key), the layout does not: the same header and lengths.
        #expect(ours.count == theirs.count)
        #expect(ours.prefix(21) == theirs.prefix(21))
        #expect(ours.suffix(8) == theirs.suffix(8))
    }

    @Test(
        "refusals: one sentence, and no key file written",
        arguments: [
            (["-O", "application=work"], 64, "FIDO application string must begin with \"ssh:\"."),
            (["-O", "bogus"], 64, "Option \"bogus\" is unsupported for FIDO authenticator enrollment."),
            (["-O", "challenge=/nonexistent/c"], 1, "unable to load FIDO enrollment challenge"),
            (["-w", "/nonexistent/lib.so"], 1, "cannot load the security key provider /nonexistent/lib.so"),
            ([], 1, "no FIDO authenticator found"),
        ]
    )
    func refusals(_ extra: [String], _ status: Int32, _ sentence: String) throws {
        let dir = try TempDir()
        let key = dir.path("id_sk")
        let r = try keysmith(arguments: ["generate", "-q", "-t", "ed25519-sk", "-f", key, "-N", ""] + extra)
        #expect(r.status == status, "\(r)")
        #expect(r.stderr.contains(sentence), "\(r.stderr)")
        if status == 1 {
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: key))
        #expect(!FileManager.default.fileExists(atPath: key + ".pub"))
    }

    @Test("an authenticator that fails: one sentence, exit 1, nothing written")
    func failingAuthenticator() throws {
        let library = try SoftAuthenticator.path()
        let dir = try TempDir()
        let key = dir.path("id_sk")
        let r = try runProcess(
            keysmithPath,
            ["generate", "-q", "-t", "ecdsa-sk", "-w", library, "-f", key, "-N", ""],
            environment: SoftAuthenticator.environment([.fail: "enroll"])
        )
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.hasPrefix("keysmith: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: key))
    }
}
