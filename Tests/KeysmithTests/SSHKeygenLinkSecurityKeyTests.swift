import Foundation
import KeysmithTestSupport
import Testing

extension SSHKeygenLinkTests {
    /// Runs a security key generation both ways and expects the same lines (less the fresh
    /// key's fingerprint and randomart) and status; with status 0, each tool reads the other's
    /// key, and both keep the same application and flags for the authenticator.
    func expectSameEnrolment(
        _ pair: Pair,
        _ arguments: [String],
        file: String,
        input: String? = nil,
        environment: [String: String] = [:],
        status: Int32,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (ours, theirs) = try pair.run(arguments + ["-f", file], input: input, environment: environment)
        #expect(ours.status == status && theirs.status == status, "\(ours) \(theirs)", sourceLocation: sourceLocation)
        #expect(
            ours.stderrData == theirs.stderrData,
            "\(ours.stderr) vs \(theirs.stderr)",
            sourceLocation: sourceLocation
        )
        #expect(
            Self.normalised(ours.stdout) == Self.normalised(theirs.stdout),
            "\(ours.stdout)\nvs\n\(theirs.stdout)",
            sourceLocation: sourceLocation
        )
        guard status == 0 else {
            #expect(!FileManager.default.fileExists(atPath: pair.ours(file)), sourceLocation: sourceLocation)
            return
        }
        #expect(try fileMode(pair.ours(file)) == 0o600 && fileMode(pair.ours(file + ".pub")) == 0o644)
        let derived = try keygen(["-y", "-f", pair.ours(file)])
        #expect(keyPart(derived.stdout) == keyPart(try readText(pair.ours(file + ".pub"))), "\(derived)")
        let back = try pair.run(pair.link, ["-y", "-f", file], in: "theirs")
        #expect(keyPart(back.stdout) == keyPart(try readText(pair.theirs(file + ".pub"))), "\(back)")
        let credentials = try (
            SecurityKeyCommandTests.credential(pair.ours(file)), SecurityKeyCommandTests.credential(pair.theirs(file))
        )
        #expect(credentials.0 == credentials.1, sourceLocation: sourceLocation)
    }

    @Test(
        "-t ecdsa-sk / ed25519-sk enrol through the -w provider as ssh-keygen: lines, options, PIN, files",
        arguments: ["ecdsa-sk", "ed25519-sk"]
    )
    func generateSecurityKey(_ type: String) throws {
        let library = try SoftAuthenticator.path()
        let pair = try Pair()
        try pair.write("challenge", "a challenge of some thirty-two bytes")
        let base = ["-t", type, "-C", "made here", "-N", ""]
        try self.expectSameEnrolment(pair, base + ["-w", library], file: "plain", status: 0)
        try self.expectSameEnrolment(
            pair,
            base + [
                "-w", library, "-O", "application=ssh:test", "-O", "No-Touch-Required", "-O", "verify-required",
                "-O", "challenge=challenge", "-O", "write-attestation=attestation", "-O", "user=someone",
            ],
            file: "options",
            status: 0
        )
        #expect(
            try readBytes(pair.ours("attestation")).prefix(21) == Data([0, 0, 0, 17] + Array("ssh-sk-attest-v01".utf8))
        )
        #expect(try fileMode(pair.ours("attestation")) == 0o600 && fileMode(pair.theirs("attestation")) == 0o600)
        try self.expectSameEnrolment(pair, base + ["-q", "-w", library], file: "quiet", status: 0)
        // A security key is saved in the OpenSSH format whatever -m says.
        try self.expectSameEnrolment(pair, base + ["-w", library, "-m", "PEM"], file: "pem", status: 0)
        let fullName = type == "ecdsa-sk" ? "sk-ecdsa-sha2-nistp256@openssh.com" : "sk-ssh-ed25519@openssh.com"
        try self.expectSameEnrolment(
            pair,
            ["-t", fullName, "-N", "", "-C", "c", "-w", library],
            file: "full",
            status: 0
        )
        try self.expectSameEnrolment(pair, base, file: "env", environment: ["SSH_SK_PROVIDER": library], status: 0)
        // The PIN: asked when the authenticator wants it, "PIN incorrect" and three tries in all.
        let pin = SoftAuthenticator.environment([.pin: "4321"])
        try self.expectSameEnrolment(
            pair,
            base + ["-w", library],
            file: "pin",
            input: "4321\n",
            environment: pin,
            status: 0
        )
        try self.expectSameEnrolment(
            pair,
            base + ["-w", library],
            file: "nopin",
            input: "1\n2\n3\n",
            environment: pin,
            status: 255
        )
        for error in ["-1", "-2", "-4"] {
            try self.expectSameEnrolment(
                pair,
                base + ["-w", library],
                file: "failed",
                environment: SoftAuthenticator.environment([.fail: "enroll", .error: error]),
                status: 255
            )
        }
        // An empty challenge file: a random challenge, as ssh-sk-helper makes one.
        try pair.write("empty", "")
        try self.expectSameEnrolment(pair, base + ["-w", library, "-O", "challenge=empty"], file: "e", status: 0)
        // A resident key that exists: replaced when the user answers y, enrolment failed otherwise.
        let resident = base + ["-w", library, "-O", "resident", "-O", "user=u", "-O", "application=ssh:r"]
        for (file, input, status) in [("r1", "", Int32(0)), ("r2", "y\n", 0), ("r3", "n\n", 255)] {
            var results: [ProcessResult] = []
            for (program, side) in [(pair.link, "ours"), (Tool.sshKeygen, "theirs")] {
                let directory = pair.dir.path(side + "-resident")
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                results.append(
                    try pair.run(
                        program,
                        resident + ["-f", file],
                        input: input,
                        environment: SoftAuthenticator.environment([.residentDirectory: directory]),
                        in: side
                    )
                )
            }
            #expect(results[0].status == status && results[1].status == status, "\(results)")
            #expect(Self.normalised(results[0].stdout) == Self.normalised(results[1].stdout), "\(results)")
            #expect(results[0].stderrData == results[1].stderrData, "\(results)")
            #expect(results[0].stdout.contains("Overwrite key in token (y/n)? ") == !input.isEmpty, "\(results[0])")
        }
        for option in ["application=web:x", "bogus", "challenge=missing"] {
            try self.expectSameEnrolment(pair, base + ["-w", library, "-O", option], file: "bad", status: 255)
        }
        // Providers that are no FIDO middleware: missing, a directory, too short, another file.
        try pair.write("short", "x")
        for provider in ["missing.so", "/tmp", "short", "challenge"] {
            try self.expectSameEnrolment(pair, base + ["-w", provider], file: "bad", status: 255)
        }
    }
}
