import SSHCrypto
import SSHKeys
import SSHProtocol
import Testing

/// Builds server messages for the user authentication state machine.
private func message(_ type: UInt8, _ build: (inout SSHWireWriter) -> Void = { _ in }) -> [UInt8] {
    var w = SSHWireWriter()
    w.writeByte(type)
    build(&w)
    return w.bytes
}

private func failure(_ methods: String, partial: Bool = false) -> [UInt8] {
    message(51) {
        $0.writeString(methods)
        $0.writeByte(partial ? 1 : 0)
    }
}

private let serviceAccept = message(6) { $0.writeString("ssh-userauth") }
private let success = message(52)
private let sessionID = [UInt8](repeating: 0xA5, count: 32)

/// A userauth request taken apart: user, service, method and the rest.
private struct ParsedRequest {
    var user: String
    var service: String
    var method: String
    var rest: SSHWireReader

    init(_ payload: [UInt8]) throws {
        var r = SSHWireReader(payload)
        #expect(try r.readByte() == 50)
        self.user = try r.readUTF8()
        self.service = try r.readUTF8()
        self.method = try r.readUTF8()
        self.rest = r
    }
}

private func makeAuth(
    order: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password],
    identities: [SSHAuthIdentity] = [],
    password: SSHUserAuthClient.PasswordSource? = nil,
    keyboardInteractive: SSHUserAuthClient.KeyboardInteractiveSource? = nil,
    accepted: [String] = SSHAlgorithms.defaultPublicKey
) throws -> SSHUserAuthClient {
    let auth = SSHUserAuthClient(
        user: "alice",
        host: "example.test",
        peer: "example.test:2222",
        order: order,
        identities: identities,
        password: password,
        keyboardInteractive: keyboardInteractive,
        sessionID: sessionID,
        acceptedAlgorithms: accepted
    )
    var r = SSHWireReader(auth.start())
    #expect(try r.readByte() == 5)
    #expect(try r.readUTF8() == "ssh-userauth")
    let none = try ParsedRequest(try single(auth.receive(serviceAccept)))
    #expect(none.user == "alice" && none.service == "ssh-connection" && none.method == "none")
    return auth
}

private func single(_ payloads: [[UInt8]]) throws -> [UInt8] {
    try #require(payloads.count == 1)
    return payloads[0]
}

/// Records what a source was asked, across threads-free single use.
private final class Recorder: @unchecked Sendable {  // @unchecked: tests use it from one thread
    var prompts: [String] = []
}

@Suite("user authentication state machine (RFC 4252, RFC 4256)")
struct UserAuthClientTests {
    @Test(
        "publickey: query first, sign after PK_OK over session id and request",
        arguments: [SSHKeyType.ed25519, .ecdsa(.p256)]
    )
    func publicKeySignsAfterPKOK(type: SSHKeyType) throws {
        let key = try SSHPrivateKey(generating: type)
        let auth = try makeAuth(identities: [SSHAuthIdentity(label: "id_test", privateKey: key)])
        var query = try ParsedRequest(try single(auth.receive(failure("publickey,password"))))
        #expect(query.method == "publickey")
        #expect(try query.rest.readByte() == 0)
        #expect(try query.rest.readUTF8() == type.sshName)
        #expect(Array(try query.rest.readString()) == key.publicKey.wireBlob)
        #expect(query.rest.isAtEnd)

        let pkOK = message(60) {
            $0.writeString(type.sshName)
            $0.writeString(key.publicKey.wireBlob)
        }
        let signedPayload = try single(auth.receive(pkOK))
        var signed = try ParsedRequest(signedPayload)
        #expect(try signed.rest.readByte() == 1)
        #expect(try signed.rest.readUTF8() == type.sshName)
        #expect(Array(try signed.rest.readString()) == key.publicKey.wireBlob)
        let signature = try SSHSignature(wireEncoding: try signed.rest.readString())
        #expect(signed.rest.isAtEnd)

        var covered = SSHWireWriter()
        covered.writeString(sessionID)
        covered.writeBytes(signedPayload[..<(signedPayload.count - 4 - signature.wireEncoding.count)])
        #expect(key.publicKey.isValidSignature(signature, for: covered.bytes))

        #expect(try auth.receive(success).isEmpty)
        #expect(auth.isAuthenticated)
        #expect(auth.authenticatedWith == "publickey (id_test)")
    }

    @Test(
        "RSA signs with the first PubkeyAcceptedAlgorithms entry the server lists (sshconnect2.c key_sig_algorithm)",
        arguments: [
            (["ssh-ed25519", "rsa-sha2-256", "rsa-sha2-512"], SSHAlgorithms.defaultPublicKey, "rsa-sha2-512"),
            (["ssh-ed25519", "rsa-sha2-256", "ssh-rsa"], SSHAlgorithms.defaultPublicKey, "rsa-sha2-256"),
            (["rsa-sha2-256", "rsa-sha2-512"], ["rsa-sha2-256"], "rsa-sha2-256"),
            (["rsa-sha2-256", "rsa-sha2-512"], ["rsa-sha2-256", "rsa-sha2-512"], "rsa-sha2-256"),
            (["ssh-rsa"], SSHAlgorithms.defaultPublicKey + ["ssh-rsa"], "ssh-rsa"),
            (nil, ["ssh-ed25519", "ssh-rsa"], "ssh-rsa"),
        ] as [([String]?, [String], String)]
    )
    func rsaAlgorithm(listed: [String]?, accepted: [String], expected: String) throws {
        let key = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        let auth = try makeAuth(identities: [SSHAuthIdentity(label: "id_rsa", privateKey: key)], accepted: accepted)
        auth.serverSignatureAlgorithms = listed
        var query = try ParsedRequest(try single(auth.receive(failure("publickey"))))
        _ = try query.rest.readByte()
        #expect(try query.rest.readUTF8() == expected)
        let pkOK = message(60) {
            $0.writeString(expected)
            $0.writeString(key.publicKey.wireBlob)
        }
        let signedPayload = try single(auth.receive(pkOK))
        var signed = try ParsedRequest(signedPayload)
        _ = try signed.rest.readByte()
        _ = try signed.rest.readString()
        _ = try signed.rest.readString()
        let signature = try SSHSignature(wireEncoding: try signed.rest.readString())
        #expect(signature.algorithm == expected)
        var covered = SSHWireWriter()
        covered.writeString(sessionID)
        covered.writeBytes(signedPayload[..<(signedPayload.count - 4 - signature.wireEncoding.count)])
        #expect(key.publicKey.isValidSignature(signature, for: covered.bytes))
    }

    @Test(
        "a key with no algorithm both sides accept is not offered; the next one is",
        arguments: [
            // ssh 9.2's defaults leave out SHA-1: a server without server-sig-algs, or one
            // listing only ssh-rsa, gets no RSA key (sshconnect2.c "no mutual signature algorithm").
            (nil, SSHAlgorithms.defaultPublicKey),
            (["ssh-rsa"], SSHAlgorithms.defaultPublicKey),
            (["rsa-sha2-512", "ssh-ed25519"], ["rsa-sha2-256", "ssh-ed25519"]),
        ] as [([String]?, [String])]
    )
    func noMutualAlgorithm(listed: [String]?, accepted: [String]) throws {
        let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048)
        let ed = try SSHPrivateKey(generating: .ed25519)
        let auth = try makeAuth(
            order: [.publicKey],
            identities: [
                SSHAuthIdentity(label: "id_rsa", privateKey: rsa), SSHAuthIdentity(label: "id_ed25519", privateKey: ed),
            ],
            accepted: accepted
        )
        auth.serverSignatureAlgorithms = listed
        var query = try ParsedRequest(try single(auth.receive(failure("publickey"))))
        _ = try query.rest.readByte()
        #expect(try query.rest.readUTF8() == "ssh-ed25519")
        #expect(Array(try query.rest.readString()) == ed.publicKey.wireBlob)
        #expect {
            _ = try auth.receive(failure("publickey"))
        } throws: { error in
            let m = (error as? SSHProtocolError)?.message ?? ""
            return m.contains("(tried 1 key)") && m.contains("no mutual signature algorithm for id_rsa")
                && !m.contains("\n")
        }
    }

    @Test("PubkeyAcceptedAlgorithms decides which keys may be offered (sshconnect2.c key_type_allowed_by_config)")
    func allowedByConfig() throws {
        let rsa = try SSHPrivateKey(generating: .rsa, rsaBits: 2048).publicKey
        let ed = try SSHPrivateKey(generating: .ed25519).publicKey
        #expect(SSHAuthIdentity.isAllowed(rsa, accepted: ["rsa-sha2-256"]))
        #expect(SSHAuthIdentity.isAllowed(rsa, accepted: ["ssh-rsa"]))
        #expect(!SSHAuthIdentity.isAllowed(rsa, accepted: ["ssh-ed25519", "rsa-sha2-256-cert-v01@openssh.com"]))
        #expect(SSHAuthIdentity.isAllowed(ed, accepted: ["ssh-ed25519"]))
        #expect(!SSHAuthIdentity.isAllowed(ed, accepted: ["ssh-ed25519-cert-v01@openssh.com", "rsa-sha2-512"]))
    }

    @Test("a refused key moves on to the next key, then to the next method the server allows")
    func refusedKeyMovesOn() throws {
        let keys = try (0..<2).map {
            SSHAuthIdentity(label: "k\($0)", privateKey: try SSHPrivateKey(generating: .ed25519))
        }
        let auth = try makeAuth(identities: keys, password: { _ in SecureBytes(utf8: "pw") })
        #expect(try ParsedRequest(try single(auth.receive(failure("publickey,password")))).method == "publickey")
        #expect(try ParsedRequest(try single(auth.receive(failure("publickey,password")))).method == "publickey")
        var password = try ParsedRequest(try single(auth.receive(failure("publickey,password"))))
        #expect(password.method == "password")
        #expect(try password.rest.readByte() == 0)
        #expect(try password.rest.readUTF8() == "pw")
        _ = try auth.receive(success)
        #expect(auth.authenticatedWith == "password")
    }

    @Test("methods the server does not list are skipped")
    func skipsMethodsNotAllowed() throws {
        let key = SSHAuthIdentity(label: "k", privateKey: try SSHPrivateKey(generating: .ed25519))
        let auth = try makeAuth(identities: [key], password: { _ in SecureBytes(utf8: "pw") })
        #expect(try ParsedRequest(try single(auth.receive(failure("password")))).method == "password")
    }

    @Test("the password is asked at most three times, then permission denied names the server's methods")
    func passwordTriesAreCapped() throws {
        let recorder = Recorder()
        let auth = try makeAuth(password: { prompt in
            recorder.prompts.append(prompt)
            return SecureBytes(utf8: "wrong")
        })
        for _ in 0..<3 {
            #expect(try ParsedRequest(try single(auth.receive(failure("publickey,password")))).method == "password")
        }
        let error = #expect(throws: SSHProtocolError(.authenticationFailed, "")) {
            try auth.receive(failure("publickey,password"))
        }
        #expect(recorder.prompts == Array(repeating: "alice@example.test's password: ", count: 3))
        #expect(
            error?.message
                == "permission denied (publickey,password) for alice on example.test:2222 (tried 3 passwords)"
        )
    }

    @Test("PASSWD_CHANGEREQ fails with a sentence saying the password expired")
    func passwordChangeRequest() throws {
        let auth = try makeAuth(password: { _ in SecureBytes(utf8: "old") })
        _ = try auth.receive(failure("password"))
        let change = message(60) {
            $0.writeString("Password expired")
            $0.writeString("")
        }
        let error = #expect(throws: SSHProtocolError(.authenticationFailed, "")) { try auth.receive(change) }
        #expect(error?.message.contains("has expired") == true)
    }

    @Test("keyboard-interactive: prompts go to the source, an empty INFO_REQUEST gets an empty response")
    func keyboardInteractive() throws {
        let recorder = Recorder()
        let auth = try makeAuth(keyboardInteractive: { name, instruction, prompts in
            recorder.prompts = [name, instruction] + prompts.map { "\($0.0)|\($0.1)" }
            return [SecureBytes(utf8: "one"), SecureBytes(utf8: "two")]
        })
        var request = try ParsedRequest(try single(auth.receive(failure("keyboard-interactive"))))
        #expect(request.method == "keyboard-interactive")
        #expect(try request.rest.readUTF8() == "")
        #expect(try request.rest.readUTF8() == "")

        let info = message(60) {
            $0.writeString("Name")
            $0.writeString("Instruction")
            $0.writeString("")
            $0.writeUInt32(2)
            $0.writeString("Password: ")
            $0.writeByte(0)
            $0.writeString("Code: ")
            $0.writeByte(1)
        }
        var response = SSHWireReader(try single(auth.receive(info)))
        #expect(try response.readByte() == 61)
        #expect(try response.readUInt32() == 2)
        #expect(try response.readUTF8() == "one")
        #expect(try response.readUTF8() == "two")
        #expect(recorder.prompts == ["Name", "Instruction", "Password: |false", "Code: |true"])

        let empty = message(60) {
            $0.writeString("")
            $0.writeString("")
            $0.writeString("")
            $0.writeUInt32(0)
        }
        #expect(try single(auth.receive(empty)) == [61, 0, 0, 0, 0])
        _ = try auth.receive(success)
        #expect(auth.authenticatedWith == "keyboard-interactive")
    }

    @Test("keyboard-interactive without its own source answers one hidden prompt with the password")
    func keyboardInteractiveFromPassword() throws {
        let recorder = Recorder()
        let auth = try makeAuth(
            order: [.keyboardInteractive],
            password: { prompt in
                recorder.prompts.append(prompt)
                return SecureBytes(utf8: "secret")
            }
        )
        _ = try auth.receive(failure("keyboard-interactive"))
        let info = message(60) {
            $0.writeString("")
            $0.writeString("")
            $0.writeString("")
            $0.writeUInt32(1)
            $0.writeString("Password: ")
            $0.writeByte(0)
        }
        var response = SSHWireReader(try single(auth.receive(info)))
        #expect(try response.readByte() == 61)
        #expect(try response.readUInt32() == 1)
        #expect(try response.readUTF8() == "secret")
        #expect(recorder.prompts == ["Password: "])
    }

    @Test("banners are collected, partial success continues with what the server still lists")
    func bannerAndPartialSuccess() throws {
        let key = SSHAuthIdentity(label: "k", privateKey: try SSHPrivateKey(generating: .ed25519))
        let auth = try makeAuth(identities: [key], password: { _ in SecureBytes(utf8: "pw") })
        let banner = message(53) {
            $0.writeString("Welcome\n")
            $0.writeString("")
        }
        #expect(try auth.receive(banner).isEmpty)
        _ = try auth.receive(failure("publickey"))
        _ = try auth.receive(
            message(60) {
                $0.writeString("ssh-ed25519")
                $0.writeString(key.publicKey.wireBlob)
            }
        )
        #expect(try ParsedRequest(try single(auth.receive(failure("password", partial: true)))).method == "password")
        _ = try auth.receive(success)
        #expect(auth.banners == ["Welcome\n"])
        #expect(auth.partialSuccesses == ["publickey (k)"])
        #expect(auth.authenticatedWith == "password")
    }

    @Test("no credentials for what the server allows: permission denied says so")
    func nothingToOffer() throws {
        let auth = try makeAuth()
        let error = #expect(throws: SSHProtocolError(.authenticationFailed, "")) {
            try auth.receive(failure("publickey"))
        }
        #expect(
            error?.message == "permission denied (publickey) for alice on example.test:2222: no credentials to offer"
        )
    }

    @Test("a PK_OK for a key that was not offered is a protocol violation")
    func pkOKMismatch() throws {
        let key = SSHAuthIdentity(label: "k", privateKey: try SSHPrivateKey(generating: .ed25519))
        let other = try SSHPrivateKey(generating: .ed25519)
        let auth = try makeAuth(identities: [key])
        _ = try auth.receive(failure("publickey"))
        let wrong = message(60) {
            $0.writeString("ssh-ed25519")
            $0.writeString(other.publicKey.wireBlob)
        }
        #expect(throws: SSHProtocolError(.protocolViolation, "")) { try auth.receive(wrong) }
    }

    @Test("malformed and out-of-place messages are protocol violations, never crashes")
    func malformedMessages() throws {
        for payload: [UInt8] in [[], [51], [51, 0, 0, 0, 9, 1], [60], [80, 0, 0, 0, 0, 0], [6, 0, 0, 0, 1, 65]] {
            let auth = SSHUserAuthClient(
                user: "a",
                host: "h",
                peer: "h:22",
                order: [.password],
                identities: [],
                password: nil,
                keyboardInteractive: nil,
                sessionID: sessionID
            )
            _ = auth.start()
            #expect(throws: SSHProtocolError.self) { try auth.receive(payload) }
        }
    }
}

/// Records what a signer was given.
private final class SignedData: @unchecked Sendable {  // @unchecked: tests use it from one thread
    var data: [[UInt8]] = []
}

@Suite("user authentication through an SSHKeySigner (a security key signs on its authenticator)")
struct UserAuthSignerTests {
    @Test(
        "a security key's identity offers its sk algorithm and sends what its signer made, flags and counter included",
        arguments: [SSHKeyType.skEd25519, .skECDSA]
    )
    func securityKeySigner(type: SSHKeyType) throws {
        var blob = SSHWireWriter()
        blob.writeString(type.sshName)
        if type == .skECDSA {
            blob.writeString("nistp256")
            let point = try SSHPrivateKey(generating: .ecdsa(.p256)).publicKey.wireBlob
            var r = SSHWireReader(point)
            _ = try r.readString()
            _ = try r.readString()
            blob.writeString(try r.readString())
        } else {
            blob.writeString([UInt8](repeating: 7, count: 32))
        }
        blob.writeString("ssh:")
        let publicKey = try SSHPublicKey(wireBlob: blob.bytes)
        let made = SSHSignature(
            algorithm: type.sshName,
            rawSignature: [UInt8](repeating: 0x5A, count: 64),
            securityKey: .init(flags: 0x05, counter: 4096)
        )
        let recorder = SignedData()
        let signer = SSHKeySigner(publicKey: publicKey) { (data) throws(SSHKeyError) in
            recorder.data.append(data)
            return made
        }
        let auth = try makeAuth(identities: [SSHAuthIdentity(label: "id_sk", signer: signer)])
        auth.serverSignatureAlgorithms = ["rsa-sha2-512", "ssh-ed25519"]
        var query = try ParsedRequest(try single(auth.receive(failure("publickey"))))
        #expect(try query.rest.readByte() == 0)
        #expect(try query.rest.readUTF8() == type.sshName)
        #expect(Array(try query.rest.readString()) == blob.bytes)
        #expect(recorder.data.isEmpty)

        let pkOK = message(60) {
            $0.writeString(type.sshName)
            $0.writeString(blob.bytes)
        }
        let signedPayload = try single(auth.receive(pkOK))
        var signed = try ParsedRequest(signedPayload)
        #expect(try signed.rest.readByte() == 1)
        #expect(try signed.rest.readUTF8() == type.sshName)
        _ = try signed.rest.readString()
        let encoded = Array(try signed.rest.readString())
        #expect(signed.rest.isAtEnd)
        // PROTOCOL.u2f: string algorithm, string signature, byte flags, uint32 counter.
        #expect(encoded == made.wireEncoding)
        #expect(try SSHSignature(wireEncoding: encoded) == made)

        var covered = SSHWireWriter()
        covered.writeString(sessionID)
        covered.writeBytes(signedPayload[..<(signedPayload.count - 4 - encoded.count)])
        #expect(recorder.data == [covered.bytes])
        #expect(try auth.receive(success).isEmpty)
        #expect(auth.authenticatedWith == "publickey (id_sk)")
    }

    @Test("a signer that fails moves on to the next method, and permission denied says why")
    func failingSigner() throws {
        var blob = SSHWireWriter()
        blob.writeString(SSHKeyType.skEd25519.sshName)
        blob.writeString([UInt8](repeating: 7, count: 32))
        blob.writeString("ssh:")
        let publicKey = try SSHPublicKey(wireBlob: blob.bytes)
        let signer = SSHKeySigner(publicKey: publicKey) { (_) throws(SSHKeyError) -> SSHSignature in
            throw SSHKeyError(.cryptoFailure, "the security key did not sign: no touch")
        }
        let auth = try makeAuth(identities: [SSHAuthIdentity(label: "id_sk", signer: signer)])
        _ = try auth.receive(failure("publickey"))
        let pkOK = message(60) {
            $0.writeString(SSHKeyType.skEd25519.sshName)
            $0.writeString(blob.bytes)
        }
        let error = #expect(throws: SSHProtocolError.self) { try auth.receive(pkOK) }
        #expect(error?.message.contains("cannot sign with id_sk: the security key did not sign: no touch") == true)
    }
}
