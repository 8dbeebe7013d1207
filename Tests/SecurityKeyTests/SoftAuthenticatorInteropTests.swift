import Foundation
import KeysmithTestSupport
import Testing

/// The software authenticator proved by OpenSSH itself: ssh-keygen makes and uses keys
/// with it, and sshd accepts logins signed by it, and refuses them without user presence
/// unless authorized_keys says `no-touch-required`.
@Suite("The software authenticator, as OpenSSH sees it")
struct SoftAuthenticatorInteropTests {
    /// The two security-key types: ssh-keygen's name and the public key's type name.
    static let types = [
        ("ed25519-sk", "sk-ssh-ed25519@openssh.com"),
        ("ecdsa-sk", "sk-ecdsa-sha2-nistp256@openssh.com"),
    ]

    /// Makes a key with `ssh-keygen -t TYPE -w LIB` in `directory`; returns its path.
    static func makeKey(_ type: String, in directory: TempDir, options: [String] = []) throws -> String {
        let path = directory.path("id_\(type)")
        let result = try runProcess(
            Tool.sshKeygen,
            ["-q", "-t", type, "-w", try SoftAuthenticator.path(), "-f", path, "-N", "", "-C", "soft"] + options
        )
        _ = try result.checked("ssh-keygen -t \(type)")
        return path
    }

    @Test("ssh-keygen makes keys; -Y sign with them and -Y verify accepts", arguments: Self.types)
    func keygenSignVerify(type: String, keyType: String) throws {
        let directory = try TempDir()
        let key = try Self.makeKey(type, in: directory)
        let publicLine = try readText(key + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(publicLine.hasPrefix(keyType + " "))
        #expect(publicLine.hasSuffix(" soft"))

        try directory.write("message", "signed by a software security key\n")
        _ = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-w", try SoftAuthenticator.path(), "-f", key, "-n", "file", directory.path("message")]
        ).checked("ssh-keygen -Y sign")
        try directory.write("allowed_signers", "soft@example \(publicLine)\n")
        let verify = [
            "-Y", "verify", "-f", directory.path("allowed_signers"), "-I", "soft@example", "-n", "file",
            "-s", directory.path("message.sig"),
        ]
        let good = try runProcess(Tool.sshKeygen, verify, input: try readBytes(directory.path("message")))
        #expect(good.status == 0, "\(good)")
        #expect(good.stdout.hasPrefix("Good \"file\" signature for soft@example"))
        let bad = try runProcess(Tool.sshKeygen, verify, input: Data("another message\n".utf8))
        #expect(bad.status != 0)
    }

    @Test(
        "ssh logs in with SecurityKeyProvider; sshd wants user presence unless no-touch-required",
        arguments: Self.types
    )
    func login(type: String, keyType: String) throws {
        let directory = try TempDir()
        let key = try Self.makeKey(type, in: directory)
        let publicLine = try readText(key + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
        let sshd = try SSHDFixture()
        let provider = ["-o", "SecurityKeyProvider=\(try SoftAuthenticator.path())"]

        try Self.authorize(publicLine, in: sshd)
        let login = try sshd.sshLogin(identity: key, command: "echo in", extraOptions: provider)
        #expect(login.status == 0, "\(login)\n\(sshd.log)")
        #expect(login.stdout == "in\n")

        // The authenticator answers without the user-presence bit: sshd refuses.
        let untouched = SoftAuthenticator.environment([.flags: "0x00"])
        let refused = try sshd.sshLogin(identity: key, extraOptions: provider, environment: untouched)
        #expect(refused.status == 255, "\(refused)")
        #expect(sshd.log.contains("user presence"), "\(sshd.log)")

        try Self.authorize("no-touch-required " + publicLine, in: sshd)
        let accepted = try sshd.sshLogin(identity: key, extraOptions: provider, environment: untouched)
        #expect(accepted.status == 0, "\(accepted)\n\(sshd.log)")
    }

    @Test("ssh-keygen -K downloads the resident keys ssh-keygen -O resident made", arguments: Self.types)
    func residentKeys(type: String, keyType: String) throws {
        let directory = try TempDir()
        let store = directory.path("authenticator")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
        let settings = SoftAuthenticator.environment([.residentDirectory: store, .pin: "2468"])
        let key = directory.path("made")
        let made = try runProcess(
            Tool.sshKeygen,
            [
                "-q", "-t", type, "-w", try SoftAuthenticator.path(), "-f", key, "-N", "",
                "-O", "resident", "-O", "user=alice", "-O", "application=ssh:keysmith",
            ],
            environment: settings.merging(Self.askpass(pin: "2468", in: directory)) { $1 }
        )
        _ = try made.checked("ssh-keygen -O resident")

        let downloads = directory.path("downloads")
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: false)
        let download = try runProcess(
            Tool.sshKeygen,
            ["-K", "-w", try SoftAuthenticator.path(), "-N", ""],
            environment: settings.merging(Self.askpass(pin: "2468", in: directory)) { $1 },
            directory: URL(fileURLWithPath: downloads)
        )
        _ = try download.checked("ssh-keygen -K")
        let name = type == "ed25519-sk" ? "id_ed25519_sk_rk_keysmith_alice" : "id_ecdsa_sk_rk_keysmith_alice"
        let downloaded = try readText(downloads + "/\(name).pub").split(separator: " ")
        let original = try readText(key + ".pub").split(separator: " ")
        #expect(downloaded.prefix(2) == original.prefix(2))
        #expect(downloaded.first.map(String.init) == keyType)
        #expect(downloaded.last == "ssh:keysmith\n")

        // The wrong PIN downloads nothing.
        let wrong = try runProcess(
            Tool.sshKeygen,
            ["-K", "-w", try SoftAuthenticator.path(), "-N", ""],
            environment: settings.merging(Self.askpass(pin: "1357", in: directory)) { $1 },
            directory: URL(fileURLWithPath: directory.url.path)
        )
        #expect(wrong.status != 0)
        #expect(!FileManager.default.fileExists(atPath: directory.path(name)))
    }

    /// An environment in which ssh-keygen's PIN prompt is answered `pin` by an askpass program.
    static func askpass(pin: String, in directory: TempDir) throws -> [String: String] {
        let program = directory.path("askpass-\(pin)")
        try writeProgram(program, "#!/bin/sh\necho \(pin)\n")
        return ["SSH_ASKPASS": program, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ""]
    }

    /// Writes `line` as the fixture account's whole authorized_keys, owned by it.
    static func authorize(_ line: String, in sshd: SSHDFixture) throws {
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", line + "\n", mode: 0o600)
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")
    }
}
