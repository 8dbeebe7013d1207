import SSHCrypto
import SSHKeys

/// The server side of one key exchange method: it waits for the client's first message
/// and answers with the group (group exchange) or the signed reply.
final class ServerKeyExchange {
    enum Step {
        /// A message to send; the exchange goes on.
        case send([UInt8])
        /// The reply to send; the exchange is done on our side.
        case finished(reply: [UInt8], outcome: KexOutcome)
    }

    let method: KexMethod
    let hostKeyAlgorithm: String
    private let hostKey: SSHPrivateKey
    /// V_C, V_S, I_C, I_S: the start of every method's exchange hash.
    private let hashPrefix: [UInt8]
    /// RFC 4419 §3: min, n, max as the client sent them, and the group we chose.
    private var groupRequest: (min: UInt32, preferred: UInt32, max: UInt32)?
    private var group: DHGroup?
    /// The message number expected next.
    private(set) var expecting: UInt8

    init(
        method: KexMethod,
        hostKeyAlgorithm: String,
        hostKey: SSHPrivateKey,
        clientVersion: String,
        serverVersion: String,
        clientKexInit: [UInt8],
        serverKexInit: [UInt8]
    ) {
        self.method = method
        self.hostKeyAlgorithm = hostKeyAlgorithm
        self.hostKey = hostKey
        var w = SSHWireWriter(capacity: 2048)
        w.writeString(clientVersion)
        w.writeString(serverVersion)
        w.writeString(clientKexInit)
        w.writeString(serverKexInit)
        self.hashPrefix = w.bytes
        if case .groupExchange = method {
            self.expecting = SSHMessageNumber.kexDHGexRequest
        } else {
            self.expecting = SSHMessageNumber.kexDHInit
        }
    }

    /// Handles one key exchange message (30...49) from the client.
    func handle(_ payload: [UInt8]) throws(SSHProtocolError) -> Step {
        guard payload.first == self.expecting else {
            throw SSHProtocolError(
                .protocolViolation,
                "unexpected key exchange message \(payload.first ?? 0) (expected \(self.expecting))"
            )
        }
        do {
            var r = SSHWireReader(payload)
            _ = try r.readByte()
            if self.expecting == SSHMessageNumber.kexDHGexRequest {
                return try self.handleGroupRequest(&r)
            }
            return try self.handleInit(&r)
        } catch let error as SSHProtocolError {
            throw error
        } catch let error as SSHKeyError {
            throw SSHProtocolError(.protocolViolation, "malformed key exchange message: \(error.message)")
        } catch let error as CryptoError {
            throw SSHProtocolError(.protocolViolation, "key exchange failed: \(error.message)")
        } catch {
            throw SSHProtocolError(.protocolViolation, "key exchange failed")
        }
    }

    /// The RFC 3526 groups a group exchange can answer with.
    private static let exchangeGroups: [DHGroup] = [.group14, .group16, .group18]

    /// RFC 4419 §3: `uint32 min, uint32 n, uint32 max`; the answer is `mpint p, mpint g`.
    /// As kexgexs.c with a moduli file holding only the RFC 3526 groups: the smallest
    /// group of at least `n` bits within min...max, else the largest within it.
    private func handleGroupRequest(_ r: inout SSHWireReader) throws -> Step {
        let min = try r.readUInt32()
        let preferred = try r.readUInt32()
        let max = try r.readUInt32()
        try r.expectEnd("SSH_MSG_KEX_DH_GEX_REQUEST")
        // kexgexs.c: DH_GRP_MIN <= min <= n <= max <= DH_GRP_MAX after clamping.
        let low = Swift.max(min, 2048)
        let high = Swift.min(max, 8192)
        guard low <= high, preferred <= max, min <= preferred else {
            throw SSHProtocolError(
                .protocolViolation,
                "the client's DH group request \(min)/\(preferred)/\(max) is invalid"
            )
        }
        let fitting = Self.exchangeGroups.filter { $0.bits >= Int(low) && $0.bits <= Int(high) }
        guard let group = fitting.first(where: { $0.bits >= Int(preferred) }) ?? fitting.last else {
            throw SSHProtocolError(.noCommonAlgorithm, "no DH group between \(min) and \(max) bits")
        }
        self.groupRequest = (min, preferred, max)
        self.group = group
        self.expecting = SSHMessageNumber.kexDHGexInit
        var w = SSHWireWriter()
        w.writeByte(SSHMessageNumber.kexDHGexGroup)
        w.writeMPInt(group.prime)
        w.writeMPInt(group.generator)
        return .send(w.bytes)
    }

    /// The client's public value (`string Q_C` or `mpint e`); the reply is
    /// `string K_S, (string Q_S | mpint f), string signature of H`.
    private func handleInit(_ r: inout SSHWireReader) throws -> Step {
        let hostKeyBlob = self.hostKey.publicKey.wireBlob
        var h = SSHWireWriter(capacity: 4096)
        h.writeBytes(self.hashPrefix)
        h.writeString(hostKeyBlob)
        let secret: SecureBytes
        let ourPublic: [UInt8]
        let replyNumber: UInt8
        switch self.method {
        case .curve25519:
            // RFC 8731 §3: H = hash(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K).
            let clientPublic = try r.readString()
            try r.expectEnd("SSH_MSG_KEX_ECDH_INIT")
            let pair = X25519.generate()
            secret = try X25519.sharedSecret(privateKey: pair.privateKey, peerPublicKey: clientPublic)
            h.writeString(clientPublic)
            h.writeString(pair.publicKey)
            ourPublic = pair.publicKey
            replyNumber = SSHMessageNumber.kexDHReply
        case .ecdh(let curve):
            // RFC 5656 §4: the same layout with EC points.
            let clientPoint = try r.readString()
            try r.expectEnd("SSH_MSG_KEX_ECDH_INIT")
            let key = try ECDHKey(curve: curve)
            secret = try key.sharedSecret(peerPoint: clientPoint)
            h.writeString(clientPoint)
            h.writeString(key.publicPoint)
            ourPublic = key.publicPoint
            replyNumber = SSHMessageNumber.kexDHReply
        case .dhGroup(let group, _):
            // RFC 4253 §8: ... K_S || e || f || K.
            let e = try r.readPositiveMPInt()
            try r.expectEnd("SSH_MSG_KEXDH_INIT")
            let pair = try DHKeyPair(group: group)
            secret = try pair.sharedSecret(peerPublicValue: e)
            h.writeMPInt(e)
            h.writeMPInt(pair.publicValue)
            ourPublic = pair.publicValue
            replyNumber = SSHMessageNumber.kexDHReply
        case .groupExchange:
            // RFC 4419 §3: ... K_S || min || n || max || p || g || e || f || K.
            guard let request = self.groupRequest, let group = self.group else {
                throw SSHProtocolError(.protocolViolation, "SSH_MSG_KEX_DH_GEX_INIT before the group request")
            }
            let e = try r.readPositiveMPInt()
            try r.expectEnd("SSH_MSG_KEX_DH_GEX_INIT")
            let pair = try DHKeyPair(group: group)
            secret = try pair.sharedSecret(peerPublicValue: e)
            h.writeUInt32(request.min)
            h.writeUInt32(request.preferred)
            h.writeUInt32(request.max)
            h.writeMPInt(group.prime)
            h.writeMPInt(group.generator)
            h.writeMPInt(e)
            h.writeMPInt(pair.publicValue)
            ourPublic = pair.publicValue
            replyNumber = SSHMessageNumber.kexDHGexReply
        }

        var k = SSHWireWriter(capacity: 1100)
        k.writeMPInt(secret)
        let encodedSecret = k.takeSecure()
        var digest = DigestContext(self.method.hash)
        digest.update(h.bytes)
        digest.update(encodedSecret)
        let exchangeHash = digest.finalize()

        let rsaHash: RSASignatureHash = self.hostKeyAlgorithm == "rsa-sha2-256" ? .sha256 : .sha512
        let signature = try self.hostKey.signature(for: exchangeHash, rsaHash: rsaHash)

        var reply = SSHWireWriter(capacity: 2048)
        reply.writeByte(replyNumber)
        reply.writeString(hostKeyBlob)
        if case .curve25519 = self.method {
            reply.writeString(ourPublic)
        } else if case .ecdh = self.method {
            reply.writeString(ourPublic)
        } else {
            reply.writeMPInt(ourPublic)
        }
        reply.writeString(signature.wireEncoding)
        self.expecting = 0
        return .finished(
            reply: reply.bytes,
            outcome: KexOutcome(
                sharedSecret: encodedSecret,
                exchangeHash: exchangeHash,
                hostKey: self.hostKey.publicKey
            )
        )
    }
}

extension SSHPrivateKey {
    /// The host key algorithms this key can sign with, as a server offers them.
    var hostKeyAlgorithms: [String] {
        switch self.type {
        case .rsa: ["rsa-sha2-512", "rsa-sha2-256"]
        default: [self.type.sshName]
        }
    }
}
