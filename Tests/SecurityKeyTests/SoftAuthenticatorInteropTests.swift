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

    /// Writes `line` as the fixture account's whole authorized_keys, owned by it.
    static func authorize(_ line: String, in sshd: SSHDFixture) throws {
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/authorized_keys", line + "\n", mode: 0o600)
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):\(sshd.user)", ssh]).checked("chown")
    }
}
