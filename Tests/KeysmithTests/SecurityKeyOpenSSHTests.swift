import Foundation
import KeysmithTestSupport
import Testing

/// Security keys driven by OpenSSH's own tools through the software authenticator: keysmith
/// verifies what `ssh-keygen -Y sign` makes, and `keysmith serve` takes (or refuses) logins
/// from `ssh -o SecurityKeyProvider=`, as sshd would.
@Suite("Security keys with OpenSSH's ssh-keygen and ssh")
struct SecurityKeyOpenSSHTests {
    static let types = ["ed25519-sk", "ecdsa-sk"]

    /// `ssh-keygen -t TYPE -w LIB`: the private key's path and the public line.
    static func makeKey(_ type: String, in dir: TempDir) throws -> (path: String, line: String) {
        let path = dir.path("id_\(type)")
        _ = try runProcess(
            Tool.sshKeygen,
            ["-q", "-t", type, "-w", try SoftAuthenticator.path(), "-f", path, "-N", "", "-C", "soft@client"]
        ).checked("ssh-keygen -t \(type)")
        return (path, try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test(
        "ssh-keygen -Y sign makes what keysmith verify, check-novalidate and find-principals accept, whatever the flags",
        arguments: types,
        ["0x01", "0x00", "0x05"]
    )
    func sshsigFromSSHKeygen(_ type: String, _ flags: String) throws {
        let dir = try TempDir()
        let (key, line) = try Self.makeKey(type, in: dir)
        try dir.write("message", "signed by a security key\n")
        let message = try readBytes(dir.path("message"))
        _ = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-f", key, "-n", "file", dir.path("message")],
            environment: ["SSH_SK_PROVIDER": try SoftAuthenticator.path()]
                .merging(SoftAuthenticator.environment([.flags: flags, .counter: "77"])) { $1 }
        ).checked("ssh-keygen -Y sign")
        try dir.write("allowed_signers", "soft@example \(line)\n")
        let signature = dir.path("message.sig")

        // keysmith prints what ssh-keygen prints, byte for byte, and both exit 0: SSHSIG has
        // no user presence policy.
        let verify = [
            "-Y", "verify", "-f", dir.path("allowed_signers"), "-I", "soft@example", "-n", "file", "-s", signature,
        ]
        let theirs = try runProcess(Tool.sshKeygen, verify, input: message)
        let ours = try keysmith(
            arguments: [
                "verify", "-f", dir.path("allowed_signers"), "-I", "soft@example", "-n", "file", "-s", signature,
            ],
            input: message
        )
        #expect(theirs.status == 0, "\(theirs)")
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdout == theirs.stdout)

        let novalidate = try keysmith(arguments: ["check-novalidate", "-n", "file", "-s", signature], input: message)
        let theirNovalidate = try runProcess(
            Tool.sshKeygen,
            ["-Y", "check-novalidate", "-n", "file", "-s", signature],
            input: message
        )
        #expect(novalidate.status == 0, "\(novalidate)")
        #expect(novalidate.stdout == theirNovalidate.stdout)

        let principals = try keysmith(arguments: [
            "find-principals", "-s", signature, "-f", dir.path("allowed_signers"),
        ])
        #expect(principals.status == 0, "\(principals)")
        #expect(principals.stdout == "soft@example\n")

        // Another message is refused by both.
        let other = Data("another message\n".utf8)
        #expect(try runProcess(Tool.sshKeygen, verify, input: other).status != 0)
        let refused = try keysmith(
            arguments: [
                "verify", "-f", dir.path("allowed_signers"), "-I", "soft@example", "-n", "file", "-s", signature,
            ],
            input: other
        )
        #expect(refused.status == 1, "\(refused)")
    }

    /// Replaces the served authorized_keys with `line`.
    static func authorize(_ line: String, in server: ServeFixture) throws {
        try writeText(server.authorizedKeys, line + "\n", mode: 0o600)
    }

    /// `ssh -o SecurityKeyProvider=LIB` logging in with `key`, the authenticator answering with `flags`.
    static func login(_ server: ServeFixture, key: String, flags: String) throws -> ProcessResult {
        try runProcess(
            Tool.ssh,
            server.sshArguments(
                identity: key,
                options: ["-o", "BatchMode=yes", "-o", "SecurityKeyProvider=\(try SoftAuthenticator.path())"]
            )
                + ["alice@127.0.0.1", "whoami"],
            environment: SoftAuthenticator.environment([.flags: flags])
        )
    }

    @Test("serve takes a touched login, refuses an untouched one unless no-touch-required", arguments: types)
    func servePresence(_ type: String) throws {
        let dir = try TempDir()
        let (key, line) = try Self.makeKey(type, in: dir)
        let server = try ServeFixture(authorizedKeys: { _ in line + "\n" })
        let expected = try server.expectedLine(for: key)

        let touched = try Self.login(server, key: key, flags: "0x01")
        #expect(touched.status == 0, "\(touched)\n\(server.log)")
        #expect(touched.stdout == expected + "\n")

        let untouched = try Self.login(server, key: key, flags: "0x00")
        #expect(untouched.status == 255, "\(untouched)")
        #expect(untouched.stdout.isEmpty)
        #expect(server.log.contains("lacks user presence"), "\(server.log)")

        try Self.authorize("no-touch-required " + line, in: server)
        let allowed = try Self.login(server, key: key, flags: "0x00")
        #expect(allowed.status == 0, "\(allowed)\n\(server.log)")
        #expect(allowed.stdout == expected + "\n")
    }

    @Test("serve wants user verification where the line says verify-required", arguments: types)
    func serveVerification(_ type: String) throws {
        let dir = try TempDir()
        let (key, line) = try Self.makeKey(type, in: dir)
        let server = try ServeFixture(authorizedKeys: { _ in "verify-required " + line + "\n" })
        let unverified = try Self.login(server, key: key, flags: "0x01")
        #expect(unverified.status == 255, "\(unverified)")
        #expect(server.log.contains("lacks user verification"), "\(server.log)")
        let verified = try Self.login(server, key: key, flags: "0x05")
        #expect(verified.status == 0, "\(verified)\n\(server.log)")
    }

    @Test(
        "challenge verify takes ssh-keygen -Y sign's answer from a security key by its line's policy",
        arguments: types
    )
    func challengePolicy(_ type: String) throws {
        let dir = try TempDir()
        let (key, line) = try Self.makeKey(type, in: dir)
        let state = dir.path("state")
        let authorizedKeys = dir.path("authorized_keys")

        /// Issues a token, answers it with ssh-keygen under `flags`, and verifies it against `options`.
        func run(flags: String, options: String?) throws -> ProcessResult {
            try writeText(authorizedKeys, (options.map { $0 + " " } ?? "") + line + " sk@client\n")
            let issued = try keysmith(arguments: ["challenge", "issue", "--state", state, "--audience", "app.example"])
            #expect(issued.status == 0, "\(issued)")
            let token = issued.stdout.trimmingCharacters(in: .newlines)
            try dir.write("token", token)
            try? FileManager.default.removeItem(atPath: dir.path("token.sig"))
            _ = try runProcess(
                Tool.sshKeygen,
                ["-Y", "sign", "-n", "challenge@keysmith", "-f", key, dir.path("token")],
                environment: ["SSH_SK_PROVIDER": try SoftAuthenticator.path()]
                    .merging(SoftAuthenticator.environment([.flags: flags])) { $1 }
            ).checked("ssh-keygen -Y sign")
            return try keysmith(
                arguments: [
                    "challenge", "verify", "--authorized-keys", authorizedKeys, "--state", state, token,
                    dir.path("token.sig"),
                ])
        }

        let touched = try run(flags: "0x01", options: nil)
        #expect(touched.status == 0, "\(touched)")
        #expect(touched.stdout.hasSuffix(" sk@client\n"), "\(touched)")
        let untouched = try run(flags: "0x00", options: nil)
        #expect(untouched.status == 1)
        #expect(
            untouched.stderr
                == "keysmith: the security key signature lacks user presence (the key was not touched) and the key is not marked no-touch-required.\n"
        )
        #expect(try run(flags: "0x00", options: "no-touch-required").status == 0)
        let unverified = try run(flags: "0x01", options: "verify-required")
        #expect(unverified.status == 1)
        #expect(
            unverified.stderr
                == "keysmith: the security key signature lacks user verification (no PIN or biometric check) that verify-required demands.\n"
        )
        #expect(try run(flags: "0x05", options: "verify-required").status == 0)
    }
}
