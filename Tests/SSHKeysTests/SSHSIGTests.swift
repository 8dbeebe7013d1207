import Foundation
import KeysmithTestSupport
import SSHCrypto
import Testing

@testable import SSHKeys

/// Makes a key with ssh-keygen and loads it.
private func makeKey(_ type: [String], in dir: TempDir) throws -> (SSHPrivateKey, String) {
    let path = dir.path("id")
    let made = try runProcess(Tool.sshKeygen, ["-q"] + type + ["-N", "", "-f", path])
    try #require(made.status == 0, "\(made)")
    return (try SSHPrivateKey(fileContents: try dir.read("id")), path)
}

private let keyTypes: [[String]] = [
    ["-t", "ed25519"], ["-t", "rsa", "-b", "2048"], ["-t", "ecdsa", "-b", "256"], ["-t", "ecdsa", "-b", "384"],
    ["-t", "ecdsa", "-b", "521"],
]

@Suite("SSHSIG")
struct SSHSIGTests {
    @Test("sign and verify against ssh-keygen -Y", arguments: keyTypes, SSHSIGSignature.HashAlgorithm.allCases)
    func interop(_ type: [String], _ hash: SSHSIGSignature.HashAlgorithm) throws {
        let dir = try TempDir()
        let (key, path) = try makeKey(type, in: dir)
        let message = Array("a message\n".utf8)
        try dir.write("msg", "a message\n")

        let ours = try SSHSIGSignature.sign(message, with: key, namespace: "file", hashAlgorithm: hash)
        if key.type == .rsa { #expect(ours.signature.algorithm == "rsa-sha2-512") }
        try ours.verify(message, namespace: "file")
        try dir.write("ours.sig", ours.armored)
        try dir.write("as", "me " + key.publicKey.openSSHLine() + "\n")
        let verified = try runProcess(
            Tool.sshKeygen,
            ["-Y", "verify", "-f", dir.path("as"), "-I", "me", "-n", "file", "-s", dir.path("ours.sig")],
            input: Data(message)
        )
        #expect(verified.status == 0, "\(verified)")

        let signed = try runProcess(
            Tool.sshKeygen,
            ["-Y", "sign", "-f", path, "-n", "file", "-O", "hashalg=\(hash.rawValue)", dir.path("msg")]
        )
        try #require(signed.status == 0, "\(signed)")
        let theirs = try SSHSIGSignature(armored: try dir.read("msg.sig"))
        #expect(theirs.publicKey == key.publicKey)
        #expect(theirs.hashAlgorithm == hash)
        #expect(theirs.namespace == "file")
        try theirs.verify(message, namespace: "file")
        // Re-encoding what ssh-keygen wrote gives its bytes back.
        #expect(Array(theirs.armored.utf8) == (try dir.read("msg.sig")))

        #expect(throws: SSHKeyError(.signatureInvalid, "")) { try theirs.verify(message, namespace: "git") }
        #expect(throws: SSHKeyError(.signatureInvalid, "")) { try theirs.verify(message + [0], namespace: "file") }
    }

    @Test("streaming a file hashes as hashing it whole")
    func streaming() throws {
        let dir = try TempDir()
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = FileManager.default.createFile(atPath: dir.path("big"), contents: Data(big))
        for hash in SSHSIGSignature.HashAlgorithm.allCases {
            let fd = open(dir.path("big"), O_RDONLY)
            defer { close(fd) }
            let streamed = try SSHSIGMessageHash(algorithm: hash, fileDescriptor: fd)
            #expect(streamed == SSHSIGMessageHash(algorithm: hash, message: big))
        }
    }

    @Test("damaged signatures are refused")
    func damaged() throws {
        let key = try SSHPrivateKey(generating: .ed25519)
        let sig = try SSHSIGSignature.sign([1, 2, 3], with: key, namespace: "n")
        let armored = sig.armored
        #expect(throws: SSHKeyError(.invalidFormat, "")) { try SSHSIGSignature(armored: String(armored.dropFirst())) }
        #expect(throws: SSHKeyError(.invalidFormat, "")) {
            try SSHSIGSignature(armored: armored.replacingOccurrences(of: "-----END SSH SIGNATURE-----\n", with: ""))
        }
        // Text after the END line is ignored, as by sshsig_dearmor.
        #expect(try SSHSIGSignature(armored: armored + "trailing\n") == sig)

        var blob = sig.blob
        #expect(try SSHSIGSignature(blob: blob) == sig)
        blob[9] = 2  // version 2
        #expect(throws: SSHKeyError(.unsupported, "")) { try SSHSIGSignature(blob: blob) }
        #expect(throws: SSHKeyError(.invalidFormat, "")) { try SSHSIGSignature(blob: sig.blob + [0]) }
        #expect(throws: SSHKeyError(.truncated, "")) { try SSHSIGSignature(blob: sig.blob.dropLast()) }
        #expect(throws: SSHKeyError(.invalidParameter, "")) { try SSHSIGSignature.sign([1], with: key, namespace: "") }

        // Another hash name: unsupported, as sshsig_check_hashalg.
        let other = SSHSIGSignature(
            publicKey: key.publicKey,
            namespace: "n",
            hashAlgorithm: .sha512,
            signature: sig.signature
        )
        let renamed = other.blob.replacing(Array("sha512".utf8), with: Array("sha384".utf8))
        #expect(throws: SSHKeyError(.unsupported, "")) { try SSHSIGSignature(blob: renamed) }
    }

    @Test(
        "allowed_signers times",
        arguments: [
            ("20240101Z", UInt64(1_704_067_200)), ("202401011230Z", 1_704_112_200),
            ("20240101123059UTC", 1_704_112_259),
            ("20240101z", 1_704_067_200),
        ]
    )
    func times(_ text: String, _ expected: UInt64) {
        #expect(AllowedSigners.parseTime(Array(text.utf8)) == expected)
    }

    @Test("malformed times", arguments: ["2024010Z", "20241301Z", "2024-1-1", "", "Z", "202401011260Z", "19691231Z"])
    func badTimes(_ text: String) {
        #expect(AllowedSigners.parseTime(Array(text.utf8)) == nil)
    }

    @Test("allowed_signers lookups")
    func allowedSigners() throws {
        let key = try SSHPrivateKey(generating: .ed25519).publicKey
        let other = try SSHPrivateKey(generating: .ecdsa(.p256)).publicKey
        let file = AllowedSigners(
            contents: Array(
                """
                # team
                carol \(other.openSSHLine())
                alice,*@example.com,!eve@example.com namespaces="git",valid-before="20300101Z" \(key.openSSHLine()) laptop
                ca@other.org cert-authority \(key.openSSHLine())

                """.utf8
            ),
            path: "signers"
        )
        let t2025 = try #require(AllowedSigners.parseTime(Array("20250101Z".utf8)))
        let t2031 = try #require(AllowedSigners.parseTime(Array("20310101Z".utf8)))
        let entry = try file.authorize(key, principal: "bob@example.com", namespace: "git", time: t2025)
        #expect(entry.lineNumber == 3)
        #expect(entry.options.namespaces == "git")
        #expect(entry.options.validBefore == 1_893_456_000)
        #expect(try file.principals(for: key, time: t2025) == ["alice", "*@example.com", "!eve@example.com"])
        #expect(try file.principals(for: other, time: t2031) == ["carol"])
        #expect(throws: SSHKeyError(.notAllowed, "")) {
            try file.authorize(key, principal: "eve@example.com", namespace: "git", time: t2025)
        }
        #expect(throws: SSHKeyError(.notAllowed, "")) {
            try file.authorize(key, principal: "alice", namespace: "file", time: t2025)
        }
        #expect(throws: SSHKeyError(.notAllowed, "")) {
            try file.authorize(key, principal: "alice", namespace: "git", time: t2031)
        }
        #expect(throws: SSHKeyError(.notAllowed, "")) { try file.authorize(key, principal: "carol", namespace: "git") }
        do {
            try file.authorize(key, principal: "ca@other.org", namespace: "git", time: t2025)
            Issue.record("a cert-authority line allowed a plain key")
        } catch {
            #expect(error.message.contains("cert-authority"))
        }
        let entries = try file.entries()
        #expect(entries.map(\.lineNumber) == [2, 3, 4])
        #expect(entries[2].options.certificateAuthority)

        let bad = AllowedSigners(contents: Array("x valid-after=\"20240101\" \(key.openSSHLine())\n".utf8), path: "f")
        #expect(throws: Never.self) { try bad.entries() }
        let broken = AllowedSigners(contents: Array("x foo=\"1\" \(key.openSSHLine())\n".utf8), path: "f")
        #expect(throws: SSHKeyError(.invalidFormat, "")) { try broken.entries() }
    }
}
