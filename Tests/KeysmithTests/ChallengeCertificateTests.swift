import Foundation
import KeysmithTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `challenge verify` with responses ssh-keygen signs with a user certificate
/// (`ssh-keygen -Y sign -f KEY-cert.pub`), vouched for by a `cert-authority` line.
@Suite("keysmith challenge verify with certificates")
struct ChallengeCertificateTests {
    let dir: TempDir
    var state: String { self.dir.path("state") }

    init() throws {
        self.dir = try TempDir()
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", "ca", "-f", self.dir.path("ca")]).checked("ssh-keygen")
    }

    /// A fresh key certified by the CA with `arguments`; returns the certificate's path.
    func certify(_ name: String, _ arguments: [String]) throws -> String {
        _ = try keygen(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", self.dir.path(name)]).checked("ssh-keygen")
        _ = try keygen(
            ["-q", "-s", self.dir.path("ca"), "-I", "id-\(name)"] + arguments + [self.dir.path(name + ".pub")]
        )
        .checked("ssh-keygen -s")
        return self.dir.path(name + "-cert.pub")
    }

    /// Issues a token, signs it with `certificate` through ssh-keygen, verifies it with `extra`.
    func verify(_ certificate: String, options: String = "", _ extra: [String] = []) throws -> ProcessResult {
        let caLine = keyPart(try readText(self.dir.path("ca.pub")))
        try self.dir.write("authorized_keys", "cert-authority\(options) \(caLine) our CA\n")
        let issued = try keysmith(arguments: ["challenge", "issue", "--state", self.state, "--audience", "app.example"])
        #expect(issued.status == 0, "\(issued)")
        try self.dir.write("token", issued.stdout.trimmingCharacters(in: .newlines))
        unlink(self.dir.path("token.sig"))
        _ = try keygen(["-Y", "sign", "-n", "challenge@keysmith", "-f", certificate, self.dir.path("token")])
            .checked("ssh-keygen -Y sign")
        return try keysmith(
            arguments: [
                "challenge", "verify", "--authorized-keys", self.dir.path("authorized_keys"), "--state", self.state,
            ] + extra + [try readText(self.dir.path("token")), self.dir.path("token.sig")]
        )
    }

    @Test("a certificate naming --user answers; its fingerprint and the CA line's comment are printed")
    func accepted() throws {
        let certificate = try self.certify("alice", ["-n", "alice,ops"])
        let fingerprint = try keygen(["-l", "-f", self.dir.path("alice.pub")]).stdout.split(separator: " ")[1]
        let ok = try self.verify(certificate, ["--user", "alice"])
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout == "\(fingerprint) our CA\n")
        let json = try self.verify(certificate, ["--user", "ops", "--json"])
        #expect(
            json.stdout
                == "{\"fingerprint\":\"\(fingerprint)\",\"comment\":\"our CA\",\"type\":\"ssh-ed25519-cert-v01@openssh.com\",\"line\":1}\n"
        )
        // principals= stands for the user name.
        let listed = try self.verify(certificate, options: ",principals=\"ops\"", ["--user", "bob"])
        #expect(listed.status == 0, "\(listed)")
    }

    @Test("refusals: another user, expired, source-address, unknown critical option; one sentence each")
    func refused() throws {
        let alice = try self.certify("alice", ["-n", "alice"])
        let other = try self.verify(alice, ["--user", "bob"])
        #expect(other.status == 1)
        #expect(other.stderr.contains("is not valid for \"bob\""), "\(other)")
        let expired = try self.verify(
            try self.certify("old", ["-n", "alice", "-V", "20000101:20010101"]),
            ["--user", "alice"]
        )
        #expect(expired.status == 1)
        #expect(expired.stderr.contains("expired at"), "\(expired)")
        let source = try self.certify("net", ["-n", "alice", "-O", "source-address=10.0.0.0/8"])
        let outside = try self.verify(source, ["--user", "alice", "--from", "192.0.2.1"])
        #expect(outside.status == 1)
        #expect(outside.stderr.contains("source-address"), "\(outside)")
        #expect(try self.verify(source, ["--user", "alice", "--from", "10.1.2.3"]).status == 0)
        let critical = try self.verify(
            try self.certify("odd", ["-n", "alice", "-O", "critical:magic=x"]),
            ["--user", "alice"]
        )
        #expect(critical.status == 1)
        #expect(critical.stderr.contains("magic"), "\(critical)")
        // --revoked-keys: a KRL revoking the certificate, a list holding its CA.
        _ = try keygen(["-k", "-f", self.dir.path("revoked.krl"), alice]).checked("ssh-keygen -k")
        let revoked = try self.verify(alice, ["--user", "alice", "--revoked-keys", self.dir.path("revoked.krl")])
        #expect(revoked.status == 1)
        #expect(revoked.stderr.contains("revoked"), "\(revoked)")
        let caRevoked = try self.verify(alice, ["--user", "alice", "--revoked-keys", self.dir.path("ca.pub")])
        #expect(caRevoked.status == 1)
        let notRevoked = try self.verify(alice, ["--user", "alice", "--revoked-keys", self.dir.path("old.pub")])
        #expect(notRevoked.status == 0, "\(notRevoked)")
        for run in [other, expired, outside, critical, revoked, caRevoked] {
            #expect(run.stderr.split(separator: "\n").count == 1, "one sentence: \(run.stderr)")
        }
    }
}
