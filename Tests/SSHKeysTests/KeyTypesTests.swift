import Foundation
import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Every public key type OpenSSH reads, parsed from keys ssh-keygen makes (or, for the
/// security-key types, from blobs built here: ssh-keygen reads them without hardware) and
/// compared with what ssh-keygen -l and -L say about the same key.
@Suite("every public key type")
struct KeyTypesTests {
    /// `bits fingerprint comment (TYPE)` as ssh-keygen -l prints it for `line`.
    static func keygenListing(_ line: String, in dir: TempDir) throws -> String {
        try dir.write("listed.pub", line + "\n")
        let result = try runProcess(Tool.sshKeygen, ["-l", "-f", dir.path("listed.pub")])
        try #require(result.status == 0, "\(result)")
        return result.stdout.trimmingCharacters(in: .newlines)
    }

    static func listing(_ key: SSHPublicKey, comment: String) -> String {
        "\(key.bits) \(key.fingerprint()) \(comment) (\(key.type.displayName))"
    }

    static func makeKey(_ type: String, in dir: TempDir, name: String) throws -> String {
        let path = dir.path(name)
        let result = try runProcess(Tool.sshKeygen, ["-q", "-t", type, "-N", "", "-C", name, "-f", path])
        try #require(result.status == 0, "\(result)")
        return try dir.readText(name + ".pub").trimmingCharacters(in: .newlines)
    }

    @Test(
        "software key types and their certificates read as ssh-keygen reads them",
        arguments: [
            "ed25519", "rsa", "ecdsa", "dsa",
        ]
    )
    func softwareTypes(type: String) throws {
        let dir = try TempDir()
        let line = try Self.makeKey(type, in: dir, name: "k")
        let parsed = try #require(SSHPublicKey.parseLine(Substring(line)))
        #expect(Self.listing(parsed.key, comment: "k") == (try Self.keygenListing(line, in: dir)))
        #expect(parsed.key.openSSHLine(comment: "k") == line)
        #expect(!parsed.key.type.isCertificate)
        #expect(parsed.key.type.isLegacy == (type == "dsa"))

        _ = try Self.makeKey("ed25519", in: dir, name: "ca")
        for host in [false, true] {
            let signing = try runProcess(
                Tool.sshKeygen,
                [
                    "-q", "-s", dir.path("ca"), "-I", "id \(host)", "-n", "alice,bob", "-z", "42",
                    "-V", "20260101:20270101",
                ] + (host ? ["-h"] : []) + [dir.path("k.pub")],
                environment: ["TZ": "UTC"]
            )
            try #require(signing.status == 0, "\(signing)")
            let certLine = try dir.readText("k-cert.pub").trimmingCharacters(in: .newlines)
            let cert = try #require(SSHPublicKey.parseLine(Substring(certLine))).key
            #expect(cert.type == .certificate(parsed.key.type))
            #expect(Self.listing(cert, comment: "k") == (try Self.keygenListing(certLine, in: dir)))
            #expect(cert.openSSHLine(comment: "k") == certLine)
            let c = try #require(cert.certificate)
            #expect(c.key == parsed.key)
            #expect(cert.plainKey == parsed.key)
            #expect(c.kind == (host ? .host : .user))
            #expect(c.keyID == "id \(host)")
            #expect(c.serial == 42)
            #expect(c.principals == ["alice", "bob"])
            #expect(c.validAfter == 1_767_225_600)  // 2026-01-01T00:00:00Z
            #expect(c.validBefore == 1_798_761_600)
            #expect(c.criticalOptions.isEmpty)
            #expect(
                c.extensions.map(\.name)
                    == (host
                        ? []
                        : [
                            "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
                            "permit-user-rc",
                        ])
            )
            let ca = try dir.readText("ca.pub").trimmingCharacters(in: .newlines)
            #expect(c.signatureKey == (try #require(SSHPublicKey.parseLine(Substring(ca))).key))
            #expect(c.signatureKey.isValidSignature(c.signature, for: c.signedData))
        }
    }

    /// An sk key blob: type, the key's own fields, the application string.
    static func skBlob(ecdsa: Bool, application: String) throws -> [UInt8] {
        var w = SSHWireWriter()
        if ecdsa {
            let key = try ECDSAKey.generate(curve: .p256)
            w.writeString("sk-ecdsa-sha2-nistp256@openssh.com")
            w.writeString("nistp256")
            w.writeString(key.publicPoint)
        } else {
            w.writeString("sk-ssh-ed25519@openssh.com")
            w.writeString(Ed25519.generate().publicKey)
        }
        w.writeString(application)
        return w.bytes
    }

    @Test("security-key public keys read as ssh-keygen reads them", arguments: [false, true])
    func securityKeys(ecdsa: Bool) throws {
        let dir = try TempDir()
        let blob = try Self.skBlob(ecdsa: ecdsa, application: "ssh:test")
        let key = try SSHPublicKey(wireBlob: blob)
        #expect(key.type == (ecdsa ? .skECDSA : .skEd25519))
        #expect(key.type.isSecurityKey)
        #expect(key.application == "ssh:test")
        #expect(key.wireBlob == blob)
        let line = key.openSSHLine(comment: "token")
        #expect(Self.listing(key, comment: "token") == (try Self.keygenListing(line, in: dir)))
        let reparsed = try #require(SSHPublicKey.parseLine(Substring(line)))
        #expect(reparsed.key == key)
    }

    @Test("every readable type has the name and label ssh-keygen uses")
    func names() {
        #expect(SSHKeyType.everyReadable.count == 16)
        for type in SSHKeyType.everyReadable {
            #expect(SSHKeyType(sshName: Array(type.sshName.utf8)) == type)
        }
        #expect(SSHKeyType.certificate(.skEd25519).sshName == "sk-ssh-ed25519-cert-v01@openssh.com")
        #expect(SSHKeyType.certificate(.ecdsa(.p384)).sshName == "ecdsa-sha2-nistp384-cert-v01@openssh.com")
        #expect(SSHKeyType.certificate(.skECDSA).displayName == "ECDSA-SK-CERT")
        #expect(SSHKeyType(sshName: Array("ssh-ed25519-cert-v01@openssh.co".utf8)) == nil)
    }

    @Test("a certificate whose CA signature does not verify is refused, as ssh-keygen refuses it")
    func brokenCertificate() throws {
        let dir = try TempDir()
        _ = try Self.makeKey("ed25519", in: dir, name: "k")
        _ = try Self.makeKey("ed25519", in: dir, name: "ca")
        let signing = try runProcess(Tool.sshKeygen, ["-q", "-s", dir.path("ca"), "-I", "x", dir.path("k.pub")])
        try #require(signing.status == 0, "\(signing)")
        let good = try #require(SSHPublicKey.parseLine(Substring(try dir.readText("k-cert.pub")))).key
        var blob = good.wireBlob
        blob[blob.count - 10] ^= 1  // inside the Ed25519 signature
        #expect(throws: SSHKeyError.self) { try SSHPublicKey(wireBlob: blob) }
        do {
            _ = try SSHPublicKey(wireBlob: blob)
        } catch {
            #expect(error.message == "the certificate's CA signature does not verify")
        }
        let line = "ssh-ed25519-cert-v01@openssh.com " + Base64.encode(blob) + " x"
        try dir.write("bad.pub", line + "\n")
        let keygen = try runProcess(Tool.sshKeygen, ["-l", "-f", dir.path("bad.pub")])
        #expect(keygen.status != 0)
        #expect(SSHPublicKey.parseLine(Substring(line)) == nil)
    }

    @Test("truncated certificates, trailing bytes and NUL bytes in strings are refused")
    func malformedCertificates() throws {
        let dir = try TempDir()
        _ = try Self.makeKey("ed25519", in: dir, name: "k")
        _ = try Self.makeKey("ed25519", in: dir, name: "ca")
        let signing = try runProcess(Tool.sshKeygen, ["-q", "-s", dir.path("ca"), "-I", "x", dir.path("k.pub")])
        try #require(signing.status == 0, "\(signing)")
        let good = try #require(SSHPublicKey.parseLine(Substring(try dir.readText("k-cert.pub")))).key
        for cut in stride(from: 1, to: good.wireBlob.count, by: 7) {
            #expect(throws: SSHKeyError.self) { try SSHPublicKey(wireBlob: good.wireBlob.prefix(cut)) }
        }
        #expect(throws: SSHKeyError.self) { try SSHPublicKey(wireBlob: good.wireBlob + [0]) }
        // An sk application string with a NUL in it.
        var sk = try Self.skBlob(ecdsa: false, application: "ssh:")
        sk.removeLast(4)
        sk.removeLast(4)
        var w = SSHWireWriter()
        w.writeString([0x73, 0x00, 0x68])
        #expect(throws: SSHKeyError.self) { try SSHPublicKey(wireBlob: sk + w.bytes) }
    }
}
