import Foundation
import KeysmithTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// User certificates made by the real `ssh-keygen -s`, offered by OpenSSH's `ssh` (KEY with
/// KEY-cert.pub beside it) to OpenSSH's sshd and to `keysmith serve` with the same files:
/// an authorized_keys with `cert-authority` lines, `TrustedUserCAKeys`, and
/// `AuthorizedPrincipalsFile`. Both must let in exactly the same rows.
@Suite("keysmith serve lets in the certificates sshd lets in", .serialized)
struct ServeCertificateTests {
    /// One certificate: the CA that signs it, ssh-keygen's arguments, the key type, and
    /// whether a login with it is allowed.
    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var ca: String
        var arguments: [String]
        var type = "ed25519"
        var allowed: Bool
        var description: String { self.name }
    }

    /// `USER` in arguments becomes the account's name.
    static let rows: [Row] = [
        Row(name: "valid for the user", ca: "line", arguments: ["-n", "USER"], allowed: true),
        Row(name: "RSA, valid", ca: "line", arguments: ["-n", "USER"], type: "rsa", allowed: true),
        Row(name: "ECDSA, valid", ca: "line", arguments: ["-n", "x,USER"], type: "ecdsa", allowed: true),
        Row(name: "expired", ca: "line", arguments: ["-n", "USER", "-V", "20000101:20010101"], allowed: false),
        Row(name: "not yet valid", ca: "line", arguments: ["-n", "USER", "-V", "20990101:21000101"], allowed: false),
        Row(name: "wrong principal", ca: "line", arguments: ["-n", "someone-else"], allowed: false),
        Row(name: "no principals", ca: "line", arguments: [], allowed: true),
        Row(
            name: "source-address outside",
            ca: "line",
            arguments: ["-n", "USER", "-O", "source-address=10.0.0.0/8"],
            allowed: false
        ),
        Row(
            name: "source-address inside",
            ca: "line",
            arguments: ["-n", "USER", "-O", "source-address=127.0.0.0/8,10.0.0.1"],
            allowed: true
        ),
        Row(
            name: "unknown critical option",
            ca: "line",
            arguments: ["-n", "USER", "-O", "critical:magic@example.com=x"],
            allowed: false
        ),
        Row(name: "host certificate", ca: "line", arguments: ["-h", "-n", "USER"], allowed: false),
        Row(name: "principals= lists one", ca: "ops", arguments: ["-n", "dev,ops"], allowed: true),
        Row(name: "principals= lists none", ca: "ops", arguments: ["-n", "USER,dev"], allowed: false),
        Row(name: "CA not listed", ca: "stranger", arguments: ["-n", "USER"], allowed: false),
        Row(name: "trusted CA, the user", ca: "trusted", arguments: ["-n", "USER"], allowed: true),
        Row(name: "trusted CA, no principals", ca: "trusted", arguments: [], allowed: false),
        Row(name: "trusted CA, another user", ca: "trusted", arguments: ["-n", "ops"], allowed: false),
        Row(
            name: "trusted CA, expired",
            ca: "trusted",
            arguments: ["-n", "USER", "-V", "20000101:20010101"],
            allowed: false
        ),
    ]

    /// With an AuthorizedPrincipalsFile listing `ops` (and `from=` on `dev`'s line), the
    /// trusted CA's certificates need a listed principal instead of the user name.
    static let principalRows: [Row] = [
        Row(name: "listed principal", ca: "trusted", arguments: ["-n", "ops"], allowed: true),
        Row(name: "the user, not listed", ca: "trusted", arguments: ["-n", "USER"], allowed: false),
        Row(name: "listed, from= outside", ca: "trusted", arguments: ["-n", "dev"], allowed: false),
        Row(
            name: "listed, expired",
            ca: "trusted",
            arguments: ["-n", "ops", "-V", "20000101:20010101"],
            allowed: false
        ),
    ]

    /// The CAs, their keys made once per test.
    static func makeCAs(in dir: TempDir) throws {
        for name in ["line", "ops", "stranger", "trusted"] {
            _ = try runProcess(
                Tool.sshKeygen,
                ["-q", "-t", "ed25519", "-N", "", "-C", "ca-\(name)", "-f", dir.path(name)]
            )
            .checked("ssh-keygen")
        }
    }

    /// A key and its certificate for each row: `idN` and `idN-cert.pub`.
    static func makeCertificates(_ rows: [Row], user: String, in dir: TempDir, prefix: String) throws {
        for (i, row) in rows.enumerated() {
            let path = dir.path("\(prefix)\(i)")
            var keyArguments = ["-q", "-t", row.type, "-N", "", "-C", "\(prefix)\(i)", "-f", path]
            if row.type == "rsa" { keyArguments += ["-b", "2048"] }
            _ = try runProcess(Tool.sshKeygen, keyArguments).checked("ssh-keygen")
            let arguments = row.arguments.map { $0.replacingOccurrences(of: "USER", with: user) }
            _ = try runProcess(
                Tool.sshKeygen,
                ["-q", "-s", dir.path(row.ca), "-I", "cert-\(prefix)\(i)", "-z", "\(100 + i)"] + arguments + [
                    path + ".pub"
                ]
            ).checked("ssh-keygen -s")
        }
    }

    /// Writes a file into the account's `~/.ssh` with the modes StrictModes wants.
    static func install(_ name: String, _ contents: String, for sshd: SSHDFixture) throws {
        let ssh = sshd.home + "/.ssh"
        try FileManager.default.createDirectory(atPath: ssh, withIntermediateDirectories: true)
        try writeText(ssh + "/" + name, contents, mode: 0o600)
        _ = try runProcess("/bin/chown", ["-R", "\(sshd.user):", ssh]).checked("chown")
        _ = try runProcess("/bin/chmod", ["700", ssh]).checked("chmod")
    }

    /// Logs in with every row's certificate to sshd and to serve, concurrently.
    static func logins(
        _ rows: [Row],
        prefix: String,
        dir: TempDir,
        sshd: SSHDFixture,
        serve: ServeFixture
    ) -> [(sshd: Bool, serve: Bool)] {
        let results = Mutex([(sshd: Bool, serve: Bool)](repeating: (false, false), count: rows.count))
        DispatchQueue.concurrentPerform(iterations: rows.count) { i in
            let identity = dir.path("\(prefix)\(i)")
            let options = ["-o", "ConnectTimeout=10", "-o", "PreferredAuthentications=publickey"]
            let openSSH = try? sshd.sshLogin(identity: identity, extraOptions: options)
            let ours = try? serve.sshLogin(identity: identity, options: options, user: sshd.user)
            results.withLock { $0[i] = (openSSH?.status == 0, ours?.status == 0) }
        }
        return results.withLock { $0 }
    }

    @Test("cert-authority lines and TrustedUserCAKeys: the same logins as sshd")
    func certificateAuthorities() throws {
        let dir = try TempDir()
        try Self.makeCAs(in: dir)
        let sshd = try SSHDFixture(extraConfig: ["TrustedUserCAKeys \(dir.path("trusted.pub"))"])
        try Self.makeCertificates(Self.rows, user: sshd.user, in: dir, prefix: "id")
        let authorizedKeys =
            "cert-authority \(try readText(dir.path("line.pub")))"
            + "cert-authority,principals=\"ops\" \(try readText(dir.path("ops.pub")))"
        try Self.install("authorized_keys", authorizedKeys, for: sshd)
        let serve = try ServeFixture(
            authorizedKeys: { _ in authorizedKeys },
            arguments: ["--trusted-user-ca-keys", dir.path("trusted.pub")]
        )
        let results = Self.logins(Self.rows, prefix: "id", dir: dir, sshd: sshd, serve: serve)
        for (row, result) in zip(Self.rows, results) {
            #expect(result.sshd == row.allowed, "sshd on \(row)")
            #expect(result.serve == row.allowed, "serve on \(row)\n\(serve.log)")
        }
        // The log names the certificate accepted and says why one was refused.
        let log = serve.log
        #expect(log.contains("certificate-id=cert-id0"), "\(log)")
        #expect(log.contains("serial=100"))
        #expect(log.contains("expired at"))
        #expect(log.contains("source-address"))
        #expect(log.contains("magic@example.com"))
    }

    /// Certificates of the `line` CA, serials 100 up; the KRL revokes serial 101 and the
    /// key of the third.
    static let revokedRows: [Row] = [
        Row(name: "not revoked", ca: "line", arguments: ["-n", "USER"], allowed: true),
        Row(name: "serial revoked", ca: "line", arguments: ["-n", "USER"], allowed: false),
        Row(name: "key revoked", ca: "line", arguments: ["-n", "USER"], allowed: false),
        Row(name: "revoked CA", ca: "stranger", arguments: ["-n", "USER"], allowed: false),
    ]

    @Test("RevokedKeys: a KRL revoking a serial, a key and a CA, as sshd")
    func revoked() throws {
        let dir = try TempDir()
        try Self.makeCAs(in: dir)
        let sshd = try SSHDFixture(extraConfig: ["RevokedKeys \(dir.path("revoked.krl"))"])
        try Self.makeCertificates(Self.revokedRows, user: sshd.user, in: dir, prefix: "r")
        try writeText(dir.path("serials"), "serial: 101\n")
        _ = try keygen(["-k", "-f", dir.path("revoked.krl"), "-s", dir.path("line.pub"), dir.path("serials")])
            .checked("ssh-keygen -k")
        _ = try keygen(["-k", "-u", "-f", dir.path("revoked.krl"), dir.path("r2.pub"), dir.path("stranger.pub")])
            .checked("ssh-keygen -k -u")
        let authorizedKeys =
            "cert-authority \(try readText(dir.path("line.pub")))"
            + "cert-authority \(try readText(dir.path("stranger.pub")))"
        try Self.install("authorized_keys", authorizedKeys, for: sshd)
        let serve = try ServeFixture(
            authorizedKeys: { _ in authorizedKeys },
            arguments: ["--revoked-keys", dir.path("revoked.krl")]
        )
        let results = Self.logins(Self.revokedRows, prefix: "r", dir: dir, sshd: sshd, serve: serve)
        for (row, result) in zip(Self.revokedRows, results) {
            #expect(result.sshd == row.allowed, "sshd on \(row)")
            #expect(result.serve == row.allowed, "serve on \(row)\n\(serve.log)")
        }
        #expect(serve.log.contains("is revoked by"), "\(serve.log)")
    }

    @Test("AuthorizedPrincipalsFile: a listed principal with its options, as sshd")
    func authorizedPrincipals() throws {
        let dir = try TempDir()
        try Self.makeCAs(in: dir)
        let sshd = try SSHDFixture(extraConfig: [
            "TrustedUserCAKeys \(dir.path("trusted.pub"))",
            "AuthorizedPrincipalsFile .ssh/authorized_principals",
        ])
        try Self.makeCertificates(Self.principalRows, user: sshd.user, in: dir, prefix: "p")
        let principals = "# principals\n  ops  \nfrom=\"10.0.0.0/8\" dev # not from here\n"
        try Self.install("authorized_principals", principals, for: sshd)
        try writeText(dir.path("principals"), principals, mode: 0o600)
        let serve = try ServeFixture(
            authorizedKeys: { _ in "" },
            arguments: [
                "--trusted-user-ca-keys", dir.path("trusted.pub"), "--authorized-principals", dir.path("principals"),
            ]
        )
        let results = Self.logins(Self.principalRows, prefix: "p", dir: dir, sshd: sshd, serve: serve)
        for (row, result) in zip(Self.principalRows, results) {
            #expect(result.sshd == row.allowed, "sshd on \(row)")
            #expect(result.serve == row.allowed, "serve on \(row)\n\(serve.log)")
        }
    }
}
