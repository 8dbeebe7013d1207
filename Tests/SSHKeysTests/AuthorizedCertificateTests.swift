import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// The decision table of certificates in authorized_keys (auth2-pubkeyfile.c
/// `auth_check_authkey_line`) and through trusted CA keys (auth2-pubkey.c
/// `user_cert_trusted_ca`), over certificates ssh-keygen signs. sshd's own verdicts on the
/// same kinds of rows are in KeysmithTests' ServeCertificateTests.
@Suite("certificates in authorized_keys and TrustedUserCAKeys")
struct AuthorizedCertificateTests {
    /// A CA's public line and certificates it signs with ssh-keygen.
    final class Authority: Sendable {
        let dir: TempDir
        let line: String
        let key: SSHPublicKey

        init(type: String = "ed25519") throws {
            self.dir = try TempDir()
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-N", "", "-C", "ca", "-f", self.dir.path("ca")])
                .checked("ssh-keygen")
            self.line = try readText(self.dir.path("ca.pub")).trimmingCharacters(in: .newlines)
            self.key = try SSHPublicKey(openSSHLine: self.line)
        }

        /// A fresh Ed25519 key certified with `arguments` (times in UTC).
        func certify(_ arguments: [String], sha1: Bool = false) throws -> SSHPublicKey {
            let name = "k\(UUID().uuidString.prefix(8))"
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-f", self.dir.path(name)])
                .checked("ssh-keygen")
            _ = try runProcess(
                Tool.sshKeygen,
                ["-q", "-s", self.dir.path("ca"), "-I", "id-\(name)", "-z", "42"] + (sha1 ? ["-t", "ssh-rsa"] : [])
                    + arguments + [self.dir.path(name + ".pub")],
                environment: ["TZ": "UTC"]
            ).checked("ssh-keygen -s")
            return try SSHPublicKey(openSSHLine: try readText(self.dir.path(name + "-cert.pub")))
        }
    }

    static let june2026: Int64 = 1_780_272_000  // 2026-06-01T00:00:00Z

    func decide(
        _ lines: [String],
        _ key: SSHPublicKey,
        user: String? = "alice",
        from address: String = "192.0.2.7",
        at time: Int64 = Self.june2026
    ) -> AuthorizedKeysDecision {
        AuthorizedKeysFile(contents: Array((lines.joined(separator: "\n") + "\n").utf8), path: "ak")
            .authorizes(key, user: user, from: address, at: time)
    }

    func reason(_ decision: AuthorizedKeysDecision) -> AuthorizedKeysRefusal.Reason? {
        if case .refused(let refusal) = decision { return refusal.reason }
        return nil
    }

    func certified(_ decision: AuthorizedKeysDecision) -> AuthorizedCertificate? {
        if case .certified(let found) = decision { return found }
        return nil
    }

    @Test("cert-authority lines: principals, user, validity, options and the line that wins")
    func table() throws {
        let ca = try Authority()
        let other = try Authority()
        let alice = try ca.certify(["-n", "alice,ops", "-V", "20260101:20270101"])
        let line = "cert-authority \(ca.line)"

        #expect(certified(decide([line], alice))?.location == "ak:1")
        // A plain key line with the CA key, or the certified key itself, vouches for nothing.
        #expect(reason(decide([ca.line], alice)) == .notListed)
        #expect(reason(decide([alice.plainKey.openSSHLine()], alice)) == .notListed)
        #expect(reason(decide([line], alice.plainKey)) == .notListed)
        #expect(reason(decide(["cert-authority \(other.line)"], alice)) == .notListed)
        // The user must be a principal unless principals= names one.
        #expect(reason(decide([line], alice, user: "bob")) == .certificateInvalid)
        #expect(reason(decide([line], alice, user: nil)) == .noUser)
        #expect(certified(decide(["cert-authority,principals=\"x,ops\" \(ca.line)"], alice, user: "bob")) != nil)
        #expect(certified(decide(["cert-authority,principals=\"x,ops\" \(ca.line)"], alice, user: nil)) != nil)
        // Exact names, no patterns; the list ends at its first empty name.
        #expect(reason(decide(["cert-authority,principals=\"op*\" \(ca.line)"], alice)) == .noAuthorizedPrincipal)
        #expect(reason(decide(["cert-authority,principals=\"x,,ops\" \(ca.line)"], alice)) == .noAuthorizedPrincipal)
        // Validity: valid-after inclusive, valid-before exclusive.
        let start = Int64(alice.certificate!.validAfter)
        let end = Int64(alice.certificate!.validBefore)
        #expect(certified(decide([line], alice, at: start)) != nil)
        #expect(reason(decide([line], alice, at: start - 1)) == .certificateInvalid)
        #expect(reason(decide([line], alice, at: end)) == .certificateInvalid)
        // The line's own options come first.
        #expect(reason(decide(["cert-authority,expiry-time=\"20260301\" \(ca.line)"], alice)) == .expired)
        #expect(reason(decide(["cert-authority,from=\"10.0.0.0/8\" \(ca.line)"], alice)) == .sourceNotPermitted)
        // The first line that allows wins; the first refusal is the one reported.
        let two = decide(["cert-authority,from=\"10.0.0.0/8\" \(ca.line)", line], alice)
        #expect(certified(two)?.entry?.lineNumber == 2)
        guard
            case .refused(let refusal) = decide(
                ["cert-authority,from=\"10.0.0.0/8\" \(ca.line)", "\(line) x"],
                alice,
                user: "bob"
            )
        else {
            Issue.record("refused expected")
            return
        }
        #expect(refusal.lineNumber == 1)
        #expect(refusal.message.contains("ak:1"))
        #expect(refusal.message.contains("\"id-"))

        // A certificate without principals is valid for every user here (OpenSSH 9.2).
        let anyone = try ca.certify([])
        #expect(certified(decide([line], anyone, user: "zed")) != nil)
        // Host certificates never log in.
        #expect(reason(decide([line], try ca.certify(["-h", "-n", "alice"]))) == .certificateInvalid)
    }

    @Test("critical options, extensions and the options merged as sshd merges them")
    func options() throws {
        let ca = try Authority()
        let line = "cert-authority \(ca.line)"
        let source = try ca.certify(["-n", "alice", "-O", "source-address=192.0.2.0/24"])
        #expect(certified(decide([line], source))?.restrictions.sourceAddress == "192.0.2.0/24")
        #expect(reason(decide([line], source, from: "198.51.100.1")) == .certificateOptions)
        let unknown = try ca.certify(["-n", "alice", "-O", "critical:magic=x"])
        #expect(reason(decide([line], unknown)) == .certificateOptions)

        let forced = try ca.certify(["-n", "alice", "-O", "force-command=/bin/id", "-O", "no-pty"])
        let merged = try #require(certified(decide(["cert-authority,no-port-forwarding \(ca.line)"], forced)))
        #expect(merged.options.command == "/bin/id")
        #expect(!merged.options.permitsPTY)
        #expect(!merged.options.permitsPortForwarding)
        #expect(merged.options.permitsAgentForwarding)
        #expect(!merged.options.isCertificateAuthority)
        #expect(reason(decide(["cert-authority,command=\"/bin/id\" \(ca.line)"], forced)) == nil)
        #expect(reason(decide(["cert-authority,command=\"/bin/sh\" \(ca.line)"], forced)) == .certificateOptions)
        // no-touch-required only from both; verify-required from either.
        let touchless = try ca.certify(["-n", "alice", "-O", "no-touch-required"])
        #expect(certified(decide([line], touchless))?.options.requiresUserPresence == true)
        #expect(
            certified(decide(["cert-authority,no-touch-required \(ca.line)"], touchless))?.options.requiresUserPresence
                == false
        )
        let verify = try ca.certify(["-n", "alice", "-O", "verify-required"])
        #expect(certified(decide([line], verify))?.options.requiresUserVerification == true)
    }

    @Test("CASignatureAlgorithms: a certificate signed with ssh-rsa (SHA-1) is refused by default")
    func caSignatureAlgorithm() throws {
        let ca = try Authority(type: "rsa")
        let sha1 = try ca.certify(["-n", "alice"], sha1: true)
        let line = "cert-authority \(ca.line)"
        #expect(reason(decide([line], sha1)) == .caSignatureAlgorithm)
        let file = AuthorizedKeysFile(contents: Array(line.utf8), path: "ak")
        let allowed = file.authorizes(
            sha1,
            user: "alice",
            from: nil,
            at: Self.june2026,
            caSignatureAlgorithms: ["ssh-rsa"]
        )
        #expect(certified(allowed) != nil)
    }

    @Test("TrustedUserCAKeys with and without an AuthorizedPrincipalsFile")
    func trusted() throws {
        let ca = try Authority()
        let cas = TrustedUserCAKeys(
            contents: Array("# CAs\n\(ca.line)\nfrom=\"*\" \(try Authority().line)\n".utf8),
            path: "cas"
        )
        #expect(cas.keys == [ca.key])
        let alice = try ca.certify(["-n", "alice,ops"])
        func check(
            _ key: SSHPublicKey,
            user: String = "alice",
            principals: String? = nil,
            from: String = "192.0.2.7"
        )
            -> AuthorizedKeysDecision
        {
            cas.authorizes(
                key,
                user: user,
                principals: principals.map { AuthorizedPrincipalsFile(contents: Array($0.utf8), path: "principals") },
                from: from,
                at: Self.june2026
            )
        }
        #expect(certified(check(alice))?.location == "cas")
        #expect(reason(check(alice, user: "bob")) == .certificateInvalid)
        #expect(reason(check(try ca.certify([]))) == .certificateInvalid)
        #expect(reason(check(try Authority().certify(["-n", "alice"]))) == .notListed)
        #expect(reason(check(alice.plainKey)) == .notListed)

        // A listed principal stands for the user name; its line's options apply.
        #expect(certified(check(alice, user: "bob", principals: "ops\n"))?.principalsLine == 1)
        #expect(certified(check(alice, user: "bob", principals: "  # comment\n\nx\n  ops #ops\n"))?.principalsLine == 4)
        #expect(reason(check(alice, principals: "bob\n")) == .noAuthorizedPrincipal)
        #expect(reason(check(alice, principals: "from=\"10.0.0.0/8\" ops\n")) == .sourceNotPermitted)
        #expect(reason(check(alice, principals: "cert-authority ops\n")) == .principalsOptions)
        #expect(reason(check(alice, principals: "bad-option ops\n")) == .noAuthorizedPrincipal)
        let forced = try #require(certified(check(alice, principals: "command=\"/bin/id\",no-pty ops\n")))
        #expect(forced.options.command == "/bin/id")
        #expect(!forced.options.permitsPTY)
    }
}
