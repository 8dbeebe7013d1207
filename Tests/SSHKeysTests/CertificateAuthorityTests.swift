import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// Certificates ssh-keygen signs, checked as sshd and ssh check them: kind, validity,
/// principals, critical options, extensions, source-address and the CA's algorithm.
@Suite("certificate checks")
struct CertificateAuthorityTests {
    /// Signs a fresh Ed25519 key with a fresh CA through ssh-keygen, with `arguments`.
    static func certificate(_ arguments: [String], caType: String = "ed25519") throws -> SSHCertificate {
        let dir = try TempDir()
        for (name, type) in [("ca", caType), ("k", "ed25519")] {
            let made = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-N", "", "-f", dir.path(name)])
            try #require(made.status == 0, "\(made)")
        }
        let signing = try runProcess(
            Tool.sshKeygen,
            ["-q", "-s", dir.path("ca"), "-I", "test"] + arguments + [dir.path("k.pub")],
            environment: ["TZ": "UTC"]
        )
        try #require(signing.status == 0, "\(signing)")
        let line = try dir.readText("k-cert.pub").trimmingCharacters(in: .newlines)
        let parsed = try #require(SSHPublicKey.parseLine(Substring(line)))
        return try #require(parsed.key.certificate)
    }

    static let june2026: UInt64 = 1_780_272_000  // 2026-06-01T00:00:00Z

    @Test("kind, validity window and principals as sshkey_cert_check_authority")
    func authority() throws {
        let user = try Self.certificate(["-n", "alice,bob", "-V", "20260101:20270101"])
        try user.checkAuthority(kind: .user, name: .principal("bob"), requirePrincipal: true, at: Self.june2026)
        try user.checkAuthority(kind: .user, name: .none, requirePrincipal: true, at: Self.june2026)
        #expect(throws: SSHKeyError.self) {
            try user.checkAuthority(kind: .host, name: .none, requirePrincipal: false, at: Self.june2026)
        }
        #expect(throws: SSHKeyError.self) {
            try user.checkAuthority(kind: .user, name: .principal("carol"), requirePrincipal: false, at: Self.june2026)
        }
        // A principal is matched exactly for users: no globs.
        #expect(throws: SSHKeyError.self) {
            try user.checkAuthority(kind: .user, name: .principal("al*"), requirePrincipal: false, at: Self.june2026)
        }
        // valid_after is inclusive, valid_before exclusive.
        try user.checkAuthority(kind: .user, name: .none, requirePrincipal: false, at: user.validAfter)
        #expect(throws: SSHKeyError.self) {
            try user.checkAuthority(kind: .user, name: .none, requirePrincipal: false, at: user.validAfter - 1)
        }
        #expect(throws: SSHKeyError.self) {
            try user.checkAuthority(kind: .user, name: .none, requirePrincipal: false, at: user.validBefore)
        }

        let anyone = try Self.certificate([])
        #expect(anyone.validBefore == UInt64.max)
        try anyone.checkAuthority(kind: .user, name: .principal("anyone"), requirePrincipal: false, at: Self.june2026)
        #expect(throws: SSHKeyError.self) {
            try anyone.checkAuthority(
                kind: .user,
                name: .principal("anyone"),
                requirePrincipal: true,
                at: Self.june2026
            )
        }
    }

    @Test("host certificates: glob principals, no critical options, CA signature algorithms")
    func host() throws {
        let host = try Self.certificate(["-h", "-n", "*.example.com,db"])
        try host.checkHost("web.example.com", at: Self.june2026)
        try host.checkHost("db", at: Self.june2026)
        #expect(throws: SSHKeyError.self) { try host.checkHost("example.org", at: Self.june2026) }
        #expect(throws: SSHKeyError.self) {
            try host.checkHost("db", at: Self.june2026, signatureAlgorithms: ["rsa-sha2-512"])
        }
        let optioned = try Self.certificate(["-h", "-n", "db", "-O", "critical:magic=x"])
        #expect(throws: SSHKeyError.self) { try optioned.checkHost("db", at: Self.june2026) }

        let sha1 = try Self.certificate(["-h", "-n", "db", "-t", "ssh-rsa"], caType: "rsa")
        #expect(sha1.signature.algorithm == "ssh-rsa")
        #expect(throws: SSHKeyError.self) { try sha1.checkHost("db", at: Self.june2026) }
        try sha1.checkHost("db", at: Self.june2026, signatureAlgorithms: ["ssh-rsa"])
    }

    @Test("critical options and extensions as sshauthopt_from_cert reads them")
    func restrictions() throws {
        let cert = try Self.certificate([
            "-n", "alice", "-O", "clear", "-O", "force-command=/bin/true", "-O", "source-address=10.0.0.0/8,::1",
            "-O", "verify-required", "-O", "no-touch-required", "-O", "permit-pty", "-O",
            "extension:custom@example.com",
        ])
        let r = try CertificateRestrictions(cert)
        #expect(r.forceCommand == "/bin/true")
        #expect(r.sourceAddress == "10.0.0.0/8,::1")
        #expect(r.requiresUserVerification)
        #expect(r.waivesUserPresence)
        #expect(r.permitsPTY && !r.permitsAgentForwarding && !r.permitsPortForwarding)
        #expect(r.unknownExtensions == ["custom@example.com"])
        #expect(r.permitsSource("10.1.2.3"))
        #expect(r.permitsSource("::1"))
        #expect(!r.permitsSource("192.168.1.1"))
        #expect(!r.permitsSource(nil))

        let defaults = try CertificateRestrictions(try Self.certificate(["-n", "alice"]))
        #expect(defaults.permitsPTY && defaults.permitsAgentForwarding && defaults.permitsUserRC)
        #expect(defaults.sourceAddress == nil && defaults.permitsSource(nil))

        #expect(throws: SSHKeyError.self) {
            try CertificateRestrictions(try Self.certificate(["-O", "critical:magic=x"]))
        }
    }

    @Test("source-address lists as addr_match_cidr_list reads them")
    func sourceAddressLists() {
        #expect(SourcePattern.matchCIDRList("192.0.2.7", list: "192.0.2.0/24") == 1)
        #expect(SourcePattern.matchCIDRList("192.0.2.7", list: "198.51.100.1,192.0.2.7") == 1)
        #expect(SourcePattern.matchCIDRList("192.0.2.7", list: "198.51.100.0/24") == 0)
        #expect(SourcePattern.matchCIDRList("not an address", list: "192.0.2.0/24") == 0)
        for bad in ["", "192.0.2.0/24,", "192.0.2.1/24", "*.example.com", "!192.0.2.1", "host", "1.2.3.4/33"] {
            #expect(SourcePattern.matchCIDRList(nil, list: bad) == -1, "\(bad)")
        }
        #expect(SourcePattern.matchCIDRList(nil, list: "2001:db8::/32,127.0.0.1") == 0)
    }
}
