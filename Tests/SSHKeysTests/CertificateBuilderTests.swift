import Foundation
import KeysmithTestSupport
import Testing

@testable import SSHKeys

/// CertificateBuilder, CertificateOptions and CertificateValidity against certificates the
/// real ssh-keygen signs: the same inputs give the same bytes.
@Suite("certificate building")
struct CertificateBuilderTests {
    /// A fresh CA (`caType`) and key (`keyType`) in `dir`, the key signed by ssh-keygen with `arguments`.
    static func keygenCertificate(
        _ arguments: [String],
        caType: String = "ed25519",
        keyType: String = "ed25519",
        in dir: TempDir
    ) throws -> (ca: SSHPrivateKey, key: SSHPublicKey, certificate: SSHCertificate) {
        for (name, type) in [("ca", caType), ("k", keyType)] {
            _ = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-N", "", "-f", dir.path(name)]).checked("ssh-keygen")
        }
        _ = try runProcess(
            Tool.sshKeygen,
            ["-q", "-s", dir.path("ca"), "-I", "the key"] + arguments + [dir.path("k.pub")],
            environment: ["TZ": "UTC"]
        ).checked("ssh-keygen -s")
        let ca = try SSHPrivateKey(fileContents: try dir.read("ca"))
        let key = try #require(SSHPublicKey.parseLine(Substring(try dir.readText("k.pub")))).key
        let line = try dir.readText("k-cert.pub").trimmingCharacters(in: .newlines)
        let certificate = try #require(SSHPublicKey.parseLine(Substring(line))?.key.certificate)
        return (ca, key, certificate)
    }

    static let optionForms: [[String]] = [
        [],
        ["-h"],
        ["-n", "alice,bob", "-z", "77", "-V", "20240102:20300405123456Z"],
        ["-O", "clear"],
        ["-O", "no-pty", "-O", "no-x11-forwarding", "-O", "permit-user-rc"],
        [
            "-O", "force-command=/bin/echo hi", "-O", "source-address=10.0.0.0/8,::1,192.0.2.7", "-O",
            "verify-required", "-O", "no-touch-required",
        ],
        [
            "-O", "extension:zz@example.com=v", "-O", "critical:aa@example.com", "-O", "extension:b=", "-O",
            "extension:b",
        ],
        ["-h", "-O", "permit-pty", "-O", "critical:x=1", "-n", "host.example.com,*.example.org"],
        ["-O", "CLEAR", "-O", "Permit-PTY", "-O", "FORCE-COMMAND=true"],
    ]

    @Test("the signed data equals ssh-keygen's for the same inputs and nonce", arguments: optionForms)
    func sameSignedData(_ arguments: [String]) throws {
        let dir = try TempDir()
        let (ca, key, theirs) = try Self.keygenCertificate(arguments, in: dir)
        let kind: SSHCertificate.Kind = arguments.contains("-h") ? .host : .user
        var options = CertificateOptions(kind: kind)
        var i = 0
        while i < arguments.count {
            if arguments[i] == "-O" { try options.apply(arguments[i + 1]) }
            i += arguments[i] == "-h" ? 1 : 2
        }
        var builder = try CertificateBuilder(key: key, keyID: "the key")
        builder.kind = kind
        builder.serial = theirs.serial
        builder.principals = theirs.principals
        builder.validAfter = theirs.validAfter
        builder.validBefore = theirs.validBefore
        builder.criticalOptions = options.criticalOptions
        builder.extensions = options.extensions
        let ours = try builder.signedData(nonce: theirs.nonce, caKey: ca.publicKey)
        #expect(ours == Array(theirs.signedData))

        let signed = try #require(try builder.sign(with: SSHKeySigner(ca)).certificate)
        #expect(signed.nonce.count == 32 && signed.nonce != theirs.nonce)
        // After the nonce, everything the CA signed is the same.
        let afterNonce = 4 + SSHKeyType.certificate(.ed25519).sshName.utf8.count + 4 + 32
        #expect(Array(signed.signedData.dropFirst(afterNonce)) == Array(theirs.signedData.dropFirst(afterNonce)))
    }

    @Test(
        "every CA signature algorithm reads back and verifies",
        arguments: [
            ("ed25519", nil), ("ecdsa", nil), ("rsa", nil), ("rsa", "rsa-sha2-256"), ("rsa", "ssh-rsa"),
            ("rsa", "rsa-sha2-512"),
        ] as [(String, String?)]
    )
    func algorithms(_ caType: String, _ requested: String?) throws {
        let dir = try TempDir()
        let (ca, key, _) = try Self.keygenCertificate([], caType: caType, in: dir)
        let algorithm = try CertificateBuilder.signatureAlgorithm(for: ca.publicKey, requested: requested)
        let signer = try SSHKeySigner(certificateAuthority: ca, algorithm: algorithm)
        let certificate = try #require(try CertificateBuilder(key: key, keyID: "x").sign(with: signer).certificate)
        #expect(certificate.signature.algorithm == (requested ?? (caType == "rsa" ? "rsa-sha2-512" : ca.type.sshName)))
        #expect(certificate.signatureKey == ca.publicKey)
    }

    @Test("refusals: certificates, DSA, a CA algorithm of another type, empty principals")
    func refusals() throws {
        let dir = try TempDir()
        let (ca, key, theirs) = try Self.keygenCertificate([], in: dir)
        let certificateKey = SSHPublicKey(backing: .certificate(theirs))
        #expect(throws: SSHKeyError.self) { try CertificateBuilder(key: certificateKey, keyID: "x") }
        _ = try runProcess(Tool.sshKeygen, ["-q", "-t", "dsa", "-N", "", "-f", dir.path("dsa")]).checked("ssh-keygen")
        let dsa = try #require(SSHPublicKey.parseLine(Substring(try dir.readText("dsa.pub")))).key
        #expect(throws: SSHKeyError.self) { try CertificateBuilder(key: dsa, keyID: "x") }
        #expect(throws: SSHKeyError.self) {
            try CertificateBuilder.signatureAlgorithm(for: ca.publicKey, requested: "rsa-sha2-256")
        }
        #expect(throws: SSHKeyError.self) { try SSHKeySigner(certificateAuthority: ca, algorithm: "ssh-rsa") }
        var builder = try CertificateBuilder(key: key, keyID: "x")
        builder.principals = ["a", ""]
        #expect(throws: SSHKeyError.self) { try builder.sign(with: SSHKeySigner(ca)) }
        builder.principals = Array(repeating: "p", count: 257)
        #expect(throws: SSHKeyError.self) { try builder.sign(with: SSHKeySigner(ca)) }
        // A signer that answers with another algorithm than the one asked for.
        #expect(throws: SSHKeyError.self) {
            try CertificateBuilder(key: key, keyID: "x").sign(with: SSHKeySigner(ca), algorithm: "ecdsa-sha2-nistp256")
        }
    }

    @Test("options ssh-keygen refuses are refused")
    func badOptions() {
        for bad in [
            "nonsense", "force-command=", "source-address=", "source-address=not-an-address",
            "source-address=10.0.0.0/33", "permit-everything",
        ] {
            var options = CertificateOptions(kind: .user)
            #expect(throws: SSHKeyError.self, "\(bad)") { try options.apply(bad) }
        }
        var twice = CertificateOptions(kind: .user)
        #expect(throws: Never.self) { try twice.apply("force-command=a") }
        #expect(throws: SSHKeyError.self) { try twice.apply("force-command=b") }
    }

    @Test("validity forms as parse_cert_times reads them")
    func validity() throws {
        let now: Int64 = 1_780_272_030  // 2026-06-01T00:00:30Z
        func parse(_ s: String) throws -> CertificateValidity { try CertificateValidity(parsing: s, now: now) }
        #expect(
            try parse("+52w")
                == CertificateValidity(validAfter: 1_780_271_940, validBefore: 1_780_272_030 + 52 * 604_800)
        )
        #expect(try parse("-1d:+1d") == CertificateValidity(validAfter: 1_780_185_630, validBefore: 1_780_358_430))
        #expect(try parse("always:forever") == .forever)
        #expect(try parse("always:+1h30m") == CertificateValidity(validAfter: 0, validBefore: 1_780_277_430))
        #expect(
            try parse("20260101Z:20270101Z")
                == CertificateValidity(validAfter: 1_767_225_600, validBefore: 1_798_761_600)
        )
        #expect(
            try parse("202601010203Z:20270101020304UTC")
                == CertificateValidity(validAfter: 1_767_232_980, validBefore: 1_798_768_984)
        )
        #expect(try parse("0x10:0xffffffffffffffff") == CertificateValidity(validAfter: 16, validBefore: .max))
        #expect(try parse("-5m:forever") == CertificateValidity(validAfter: 1_780_271_730, validBefore: .max))
        for bad in [
            "", "+", "52w", "+52x", ":forever", "always:", "forever:always", "2026:2027", "+1d:-1d", "0x:0x10",
            "-99999999999999w:forever", "0x10:0x10", "always", "20261301Z:forever",
        ] {
            #expect(throws: SSHKeyError.self, "\(bad)") { try parse(bad) }
        }
    }

    @Test("the -L text of certificates ssh-keygen made", arguments: optionForms)
    func text(_ arguments: [String]) throws {
        let dir = try TempDir()
        _ = try Self.keygenCertificate(arguments, in: dir)
        let listed = try runProcess(Tool.sshKeygen, ["-L", "-f", dir.path("k-cert.pub")], environment: ["TZ": "UTC"])
            .checked("ssh-keygen -L")
        let line = try dir.readText("k-cert.pub")
        let certificate = try #require(SSHPublicKey.parseLine(Substring(line))?.key.certificate)
        // This process's time zone may not be UTC: compare the lines that do not hold times.
        let expected = listed.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            .filter { !$0.hasPrefix("        Valid: ") }
        let ours = certificate.keygenDescription.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("        Valid: ") }
        #expect(ours == Array(expected))
    }
}
