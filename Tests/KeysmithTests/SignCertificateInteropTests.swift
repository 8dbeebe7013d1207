import Foundation
import KeysmithTestSupport
import Testing

/// Signatures made by `ssh-keygen -Y sign -f KEY-cert.pub` (with the certificate), checked by
/// `ssh-keygen -Y verify` / `find-principals` / `check-novalidate` and by keysmith against
/// the same allowed_signers files: the same exit status and the same standard output.
@Suite("SSHSIG signatures made with certificates, against ssh-keygen -Y")
struct SignCertificateInteropTests {
    /// A CA, a key certified for alice@example.com and ops from 2024-01-01 to 2025-01-01
    /// (UTC), a message and its signature in the `file` namespace.
    final class Setup: Sendable {
        let dir: TempDir
        let message = Data("signed with a certificate\n".utf8)
        let replacements: [String: String]

        init(keyType: [String] = ["-t", "ed25519"]) throws {
            let dir = try TempDir()
            self.dir = dir
            for (name, type) in [("ca", ["-t", "ed25519"]), ("other", ["-t", "ed25519"]), ("id", keyType)] {
                _ = try keygen(["-q"] + type + ["-N", "", "-C", name, "-f", dir.path(name)]).checked("ssh-keygen")
            }
            _ = try runProcess(
                Tool.sshKeygen,
                [
                    "-q", "-s", dir.path("ca"), "-I", "signer", "-n", "alice@example.com,ops", "-V",
                    "20240101Z:20250101Z", dir.path("id.pub"),
                ]
            ).checked("ssh-keygen -s")
            try dir.write("msg", String(decoding: self.message, as: UTF8.self))
            // ssh-keygen 9.2 signs with the certificate when -f names it (load_sign_key then
            // finds the private key by removing "-cert.pub"); given the private key, it signs
            // with the plain key even when the certificate is beside it.
            _ = try keygen(["-Y", "sign", "-f", dir.path("id-cert.pub"), "-n", "file", dir.path("msg")]).checked(
                "ssh-keygen -Y sign"
            )
            self.replacements = [
                "CA_KEY": keyPart(try readText(dir.path("ca.pub"))),
                "OTHER_KEY": keyPart(try readText(dir.path("other.pub"))),
                "PLAIN_KEY": keyPart(try readText(dir.path("id.pub"))),
                "CERT_KEY": keyPart(try readText(dir.path("id-cert.pub"))),
            ]
        }

        /// An allowed_signers file of `lines` with CA_KEY, OTHER_KEY, PLAIN_KEY and CERT_KEY
        /// replaced by keys (no base64 text holds an underscore).
        func signers(_ lines: [String], name: String) throws -> String {
            var text = lines.map { $0 + "\n" }.joined()
            for (word, key) in self.replacements.sorted(by: { $0.key > $1.key }) {
                text = text.replacingOccurrences(of: word, with: key)
            }
            try self.dir.write(name, text)
            return self.dir.path(name)
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var lines: [String]
        var identity = "alice@example.com"
        var namespace = "file"
        var verifyTime: String? = "20240601Z"
        var good: Bool
        var description: String { self.name }
    }

    static let cases: [Case] = [
        Case(name: "valid", lines: ["alice@example.com cert-authority CA_KEY"], good: true),
        Case(name: "pattern", lines: ["*@example.com cert-authority CA_KEY"], good: true),
        Case(name: "second principal", lines: ["ops cert-authority CA_KEY"], identity: "ops", good: true),
        Case(
            name: "expired at verify time",
            lines: ["alice@example.com cert-authority CA_KEY"],
            verifyTime: "20250102Z",
            good: false
        ),
        Case(
            name: "not yet valid",
            lines: ["alice@example.com cert-authority CA_KEY"],
            verifyTime: "20231231Z",
            good: false
        ),
        Case(
            name: "now, after the certificate",
            lines: ["alice@example.com cert-authority CA_KEY"],
            verifyTime: nil,
            good: false
        ),
        Case(
            name: "wrong principal",
            lines: ["*@example.com cert-authority CA_KEY"],
            identity: "bob@example.com",
            good: false
        ),
        Case(
            name: "wrong namespace",
            lines: ["alice@example.com cert-authority,namespaces=\"git\" CA_KEY"],
            good: false
        ),
        Case(
            name: "right namespace",
            lines: ["alice@example.com namespaces=\"git,file\",cert-authority CA_KEY"],
            good: true
        ),
        Case(
            name: "signed for another namespace",
            lines: ["alice@example.com cert-authority CA_KEY"],
            namespace: "git",
            good: false
        ),
        Case(name: "CA not listed", lines: ["alice@example.com cert-authority OTHER_KEY"], good: false),
        Case(name: "plain key listed, cert-authority missing", lines: ["alice@example.com PLAIN_KEY"], good: false),
        Case(name: "CA key listed without cert-authority", lines: ["alice@example.com CA_KEY"], good: false),
        Case(name: "the certificate itself listed", lines: ["alice@example.com CERT_KEY"], good: true),
        Case(
            name: "line's valid-before passed",
            lines: ["alice@example.com cert-authority,valid-before=\"20240301\" CA_KEY"],
            good: false
        ),
        Case(
            name: "refused line, then allowing line",
            lines: ["alice@example.com cert-authority OTHER_KEY", "* cert-authority,valid-after=\"20240501Z\" CA_KEY"],
            good: true
        ),
    ]

    @Test("verify agrees with ssh-keygen -Y verify", arguments: cases)
    func verify(_ c: Case) throws {
        let s = try Setup()
        let signers = try s.signers(c.lines, name: "allowed")
        var args = ["-f", signers, "-I", c.identity, "-n", c.namespace, "-s", s.dir.path("msg.sig")]
        if let t = c.verifyTime { args += ["-O", "verify-time=\(t)"] }
        let theirs = try keygen(["-Y", "verify"] + args, input: s.message)
        let ours = try keysmith(arguments: ["verify"] + args, input: s.message)
        #expect((theirs.status == 0) == c.good, "ssh-keygen: \(theirs)")
        #expect((ours.status == 0) == c.good, "keysmith: \(ours)")
        #expect(ours.status == 0 || ours.status == 1)
        #expect(ours.stdout == theirs.stdout, "\(c)")
        if !c.good { #expect(ours.stderr.split(separator: "\n").count == 1, "one sentence: \(ours.stderr)") }
    }

    @Test("find-principals agrees with ssh-keygen -Y find-principals")
    func findPrincipals() throws {
        let s = try Setup(keyType: ["-t", "ecdsa"])
        let files: [[String]] = [
            ["*@example.com,ops cert-authority CA_KEY"],
            ["*,a* cert-authority CA_KEY"],
            ["x cert-authority CA_KEY"],
            ["x cert-authority OTHER_KEY", "ops,nobody cert-authority,namespaces=\"git\" CA_KEY"],
            ["alice@example.com PLAIN_KEY"],
            ["alice@example.com,bob CERT_KEY"],
            ["ops cert-authority,valid-before=\"20240301\" CA_KEY"],
        ]
        for (i, lines) in files.enumerated() {
            let path = try s.signers(lines, name: "as\(i)")
            for time in ["20240601Z", "20250601Z", "20240201Z"] {
                let args = ["-s", s.dir.path("msg.sig"), "-f", path, "-O", "verify-time=\(time)"]
                let theirs = try keygen(["-Y", "find-principals"] + args)
                let ours = try keysmith(arguments: ["find-principals"] + args)
                #expect(
                    (ours.status == 0) == (theirs.status == 0),
                    "\(lines) \(time)\nours: \(ours)\ntheirs: \(theirs)"
                )
                #expect(ours.stdout == theirs.stdout, "\(lines) \(time)")
                if i == 0 && time == "20240601Z" { #expect(ours.stdout == "alice@example.com\nops\n") }
            }
        }
    }

    @Test("verify -r: a KRL or a key list revoking the certificate or its CA, as ssh-keygen -Y verify -r")
    func revoked() throws {
        let s = try Setup()
        let signers = try s.signers(["alice@example.com cert-authority CA_KEY"], name: "allowed")
        _ = try keygen(["-k", "-f", s.dir.path("cert.krl"), s.dir.path("id-cert.pub")]).checked("ssh-keygen -k")
        _ = try keygen(["-k", "-f", s.dir.path("other.krl"), s.dir.path("other.pub")]).checked("ssh-keygen -k")
        for revoked in ["cert.krl", "other.krl", "ca.pub", "other.pub", "id.pub", "missing"] {
            let args = [
                "-f", signers, "-I", "alice@example.com", "-n", "file", "-s", s.dir.path("msg.sig"), "-O",
                "verify-time=20240601Z", "-r", s.dir.path(revoked),
            ]
            let theirs = try keygen(["-Y", "verify"] + args, input: s.message)
            let ours = try keysmith(arguments: ["verify"] + args, input: s.message)
            #expect((ours.status == 0) == (theirs.status == 0), "\(revoked)\nours: \(ours)\ntheirs: \(theirs)")
            #expect(ours.stdout == theirs.stdout, "\(revoked)")
            #expect((theirs.status == 0) == ["other.krl", "other.pub"].contains(revoked), "\(revoked): \(theirs)")
        }
    }

    @Test("check-novalidate takes a certificate's signature as ssh-keygen does, RSA too")
    func checkNoValidate() throws {
        for type in [["-t", "ed25519"], ["-t", "rsa", "-b", "2048"]] {
            let s = try Setup(keyType: type)
            for (namespace, message) in [("file", s.message), ("git", s.message), ("file", Data("other".utf8))] {
                let args = ["-n", namespace, "-s", s.dir.path("msg.sig")]
                let theirs = try keygen(["-Y", "check-novalidate"] + args, input: message)
                let ours = try keysmith(arguments: ["check-novalidate"] + args, input: message)
                #expect((ours.status == 0) == (theirs.status == 0), "ours: \(ours)\ntheirs: \(theirs)")
                #expect(ours.stdout == theirs.stdout)
            }
        }
    }
}
