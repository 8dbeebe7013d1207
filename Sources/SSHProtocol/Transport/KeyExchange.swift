import SSHCrypto
import SSHKeys

/// A key exchange method and the hash it uses for H and key derivation.
enum KexMethod {
    /// curve25519-sha256 and curve25519-sha256@libssh.org (RFC 8731).
    case curve25519
    /// ecdh-sha2-nistp256/384/521 (RFC 5656 §4, §6.2.1: the curve's hash).
    case ecdh(ECCurve)
    /// diffie-hellman-group14-sha256, group16-sha512, group18-sha512 (RFC 8268).
    case dhGroup(DHGroup, HashFunction)
    /// diffie-hellman-group-exchange-sha256 (RFC 4419).
    case groupExchange

    init?(name: String) {
        switch name {
        case "curve25519-sha256", "curve25519-sha256@libssh.org": self = .curve25519
        case "ecdh-sha2-nistp256": self = .ecdh(.p256)
        case "ecdh-sha2-nistp384": self = .ecdh(.p384)
        case "ecdh-sha2-nistp521": self = .ecdh(.p521)
        case "diffie-hellman-group14-sha256": self = .dhGroup(.group14, .sha256)
        case "diffie-hellman-group16-sha512": self = .dhGroup(.group16, .sha512)
        case "diffie-hellman-group18-sha512": self = .dhGroup(.group18, .sha512)
        case "diffie-hellman-group-exchange-sha256": self = .groupExchange
        default: return nil
        }
    }

    var hash: HashFunction {
        switch self {
        case .curve25519, .groupExchange: .sha256
        case .ecdh(let curve): curve.hash
        case .dhGroup(_, let hash): hash
        }
    }
}

/// What a finished exchange produced, before the host key is trusted.
struct KexOutcome {
    /// K, already encoded as an mpint (RFC 4253 §7.2 hashes it in that form).
    let sharedSecret: SecureBytes
    /// The exchange hash H.
    let exchangeHash: [UInt8]
    /// The server's host key, whose signature over H has been checked.
    let hostKey: SSHPublicKey
}

/// The client side of one key exchange method: it sends the first message and turns
/// the server's replies into the next message or an outcome.
final class ClientKeyExchange {
    enum Step {
        case send([UInt8])
        case finished(KexOutcome)
    }

    private enum Ephemeral {
        case x25519(privateKey: SecureBytes, publicKey: [UInt8])
        case ecdh(ECDHKey)
        case dh(DHKeyPair)
    }

    let method: KexMethod
    let hostKeyAlgorithm: String
    /// V_C, V_S, I_C, I_S: the start of every method's exchange hash.
    private let hashPrefix: [UInt8]
    private var ephemeral: Ephemeral?
    /// RFC 4419 §3: min, n, max as sent in SSH_MSG_KEX_DH_GEX_REQUEST.
    private var groupRequest: (min: UInt32, preferred: UInt32, max: UInt32)?
    private var group: DHGroup?
    /// The message number expected next.
    private(set) var expecting: UInt8

    /// The first message the client sends.
    let firstMessage: [UInt8]

    /// - Parameter keyMaterialBytes: OpenSSH's `dh_need`: the largest of the negotiated
    ///   ciphers' key, block and IV sizes and MAC key sizes, for the group size asked in
    ///   group exchange.
    init(
        method: KexMethod,
        hostKeyAlgorithm: String,
        clientVersion: String,
        serverVersion: String,
        clientKexInit: [UInt8],
        serverKexInit: [UInt8],
        keyMaterialBytes: Int
    ) throws(SSHProtocolError) {
        self.method = method
        self.hostKeyAlgorithm = hostKeyAlgorithm
        var w = SSHWireWriter(capacity: 2048)
        w.writeString(clientVersion)
        w.writeString(serverVersion)
        w.writeString(clientKexInit)
        w.writeString(serverKexInit)
        self.hashPrefix = w.bytes

        var first = SSHWireWriter()
        do {
            switch method {
            case .curve25519:
                let pair = X25519.generate()
                self.ephemeral = .x25519(privateKey: pair.privateKey, publicKey: pair.publicKey)
                first.writeByte(SSHMessageNumber.kexDHInit)
                first.writeString(pair.publicKey)
                self.expecting = SSHMessageNumber.kexDHReply
            case .ecdh(let curve):
                let key = try ECDHKey(curve: curve)
                self.ephemeral = .ecdh(key)
                first.writeByte(SSHMessageNumber.kexDHInit)
                first.writeString(key.publicPoint)
                self.expecting = SSHMessageNumber.kexDHReply
            case .dhGroup(let group, _):
                let pair = try DHKeyPair(group: group)
                self.group = group
                self.ephemeral = .dh(pair)
                first.writeByte(SSHMessageNumber.kexDHInit)
                first.writeMPInt(pair.publicValue)
                self.expecting = SSHMessageNumber.kexDHReply
            case .groupExchange:
                // kexgexc.c: min DH_GRP_MIN, n = dh_estimate(dh_need * 8), max DH_GRP_MAX.
                let request = (
                    min: UInt32(2048), preferred: Self.estimatedGroupBits(keyMaterialBytes * 8), max: UInt32(8192)
                )
                self.groupRequest = request
                first.writeByte(SSHMessageNumber.kexDHGexRequest)
                first.writeUInt32(request.min)
                first.writeUInt32(request.preferred)
                first.writeUInt32(request.max)
                self.expecting = SSHMessageNumber.kexDHGexGroup
            }
        } catch {
            throw SSHProtocolError(.cryptoFailure, "cannot make an ephemeral key: \(error.message)")
        }
        self.firstMessage = first.bytes
    }

    /// dh.c `dh_estimate`: a group size for a symmetric strength (NIST SP 800-57).
    static func estimatedGroupBits(_ bits: Int) -> UInt32 {
        if bits <= 112 { return 2048 }
        if bits <= 128 { return 3072 }
        if bits <= 192 { return 7680 }
        return 8192
    }

    /// Handles one key exchange message (30...49) from the server.
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
            if case .groupExchange = self.method, self.group == nil {
                return try self.handleGroup(&r)
            }
            return .finished(try self.handleReply(&r))
        } catch let error as SSHProtocolError {
            throw error
        } catch let error as SSHKeyError {
            throw SSHProtocolError(.protocolViolation, "malformed key exchange reply: \(error.message)")
        } catch let error as CryptoError {
            throw SSHProtocolError(.protocolViolation, "key exchange failed: \(error.message)")
        } catch {
            throw SSHProtocolError(.protocolViolation, "key exchange failed")
        }
    }

    /// RFC 4419 §3: `mpint p, mpint g`.
    private func handleGroup(_ r: inout SSHWireReader) throws -> Step {
        let p = try r.readPositiveMPInt()
        let g = try r.readPositiveMPInt()
        try r.expectEnd("SSH_MSG_KEX_DH_GEX_GROUP")
        let group = try DHGroup(prime: p, generator: g)
        // kexgexc.c: SSH_ERR_DH_GEX_OUT_OF_RANGE unless min <= bits(p) <= max.
        guard let request = self.groupRequest, group.bits >= Int(request.min), group.bits <= Int(request.max) else {
            throw SSHProtocolError(.protocolViolation, "the server's DH group of \(group.bits) bits is out of range")
        }
        let pair = try DHKeyPair(group: group)
        self.group = group
        self.ephemeral = .dh(pair)
        self.expecting = SSHMessageNumber.kexDHGexReply
        var w = SSHWireWriter()
        w.writeByte(SSHMessageNumber.kexDHGexInit)
        w.writeMPInt(pair.publicValue)
        return .send(w.bytes)
    }

    /// The reply: `string K_S, (string Q_S | mpint f), string signature of H`.
    private func handleReply(_ r: inout SSHWireReader) throws -> KexOutcome {
        let hostKeyBlob = try r.readString()
        var h = SSHWireWriter(capacity: 4096)
        h.writeBytes(self.hashPrefix)
        h.writeString(hostKeyBlob)
        let secret: SecureBytes
        switch self.ephemeral {
        case .x25519(let privateKey, let publicKey):
            // RFC 8731 §3: H = hash(V_C || V_S || I_C || I_S || K_S || Q_C || Q_S || K).
            let serverPublic = try r.readString()
            secret = try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: serverPublic)
            h.writeString(publicKey)
            h.writeString(serverPublic)
        case .ecdh(let key):
            // RFC 5656 §4: the same layout with EC points.
            let serverPoint = try r.readString()
            secret = try key.sharedSecret(peerPoint: serverPoint)
            h.writeString(key.publicPoint)
            h.writeString(serverPoint)
        case .dh(let pair):
            // RFC 4253 §8: ... K_S || e || f || K; RFC 4419 §3 puts min || n || max || p || g
            // between K_S and e.
            let f = try r.readPositiveMPInt()
            secret = try pair.sharedSecret(peerPublicValue: f)
            if let request = self.groupRequest, let group = self.group {
                h.writeUInt32(request.min)
                h.writeUInt32(request.preferred)
                h.writeUInt32(request.max)
                h.writeMPInt(group.prime)
                h.writeMPInt(group.generator)
            }
            h.writeMPInt(pair.publicValue)
            h.writeMPInt(f)
        case nil:
            throw SSHProtocolError(.protocolViolation, "a key exchange reply came before the exchange started")
        }
        let signatureBlob = try r.readString()
        try r.expectEnd("the key exchange reply")

        // K is hashed as an mpint: for curve25519 its 32 bytes read as an unsigned
        // big-endian number (RFC 8731 §3.1), for ECDH and DH the number itself.
        var k = SSHWireWriter(capacity: 1100)
        k.writeMPInt(secret)
        let encodedSecret = k.takeSecure()

        var digest = DigestContext(self.method.hash)
        digest.update(h.bytes)
        digest.update(encodedSecret)
        let exchangeHash = digest.finalize()

        let hostKey = try SSHPublicKey(wireBlob: hostKeyBlob)
        try Self.checkHostKey(hostKey, algorithm: self.hostKeyAlgorithm)
        let signature = try SSHSignature(wireEncoding: signatureBlob)
        guard signature.algorithm == self.hostKeyAlgorithm else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server signed with \(printable(signature.algorithm.utf8)), not the negotiated \(self.hostKeyAlgorithm)"
            )
        }
        guard hostKey.isValidSignature(signature, for: exchangeHash) else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server's host key signature over the exchange hash is invalid"
            )
        }
        self.ephemeral = nil
        return KexOutcome(sharedSecret: encodedSecret, exchangeHash: exchangeHash, hostKey: hostKey)
    }

    /// The host key's type must fit the negotiated algorithm (rsa-sha2-* use ssh-rsa keys).
    static func checkHostKey(_ key: SSHPublicKey, algorithm: String) throws(SSHProtocolError) {
        let fits =
            switch algorithm {
            case "rsa-sha2-256", "rsa-sha2-512": key.type == .rsa
            default: key.type.sshName == algorithm
            }
        guard fits else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server sent a \(key.type.sshName) host key for the negotiated \(algorithm)"
            )
        }
    }
}

/// RFC 4253 §7.2: the keys of both directions from K, H and the session ID.
enum KeyDerivation {
    /// `HASH(K || H || letter || session_id)`, extended by `HASH(K || H || K1 || … )`
    /// until `count` bytes.
    static func derive(
        hash: HashFunction,
        sharedSecret: SecureBytes,
        exchangeHash: [UInt8],
        letter: UInt8,
        sessionID: [UInt8],
        count: Int
    ) -> SecureBytes {
        var base = DigestContext(hash)
        base.update(sharedSecret)
        base.update(exchangeHash)
        var first = base
        first.update([letter])
        first.update(sessionID)
        var output = first.finalizeSecure()
        while output.count < count {
            var next = base
            next.update(output)
            let more = next.finalizeSecure()
            let grown = SecureBytes(count: output.count + more.count)
            grown.withUnsafeMutableBytes { dst in
                output.withUnsafeBytes { src in dst.copyMemory(from: src) }
                more.withUnsafeBytes { src in
                    UnsafeMutableRawBufferPointer(rebasing: dst[output.count...]).copyMemory(from: src)
                }
            }
            output = grown
        }
        return output.count == count ? output : output.slice(0..<count)
    }

    /// The two directions' packet keys for `negotiated`; `asServer` swaps which direction
    /// encrypts (the server decrypts what the client sends).
    static func packetKeys(
        negotiated: SSHNegotiatedAlgorithms,
        hash: HashFunction,
        sharedSecret: SecureBytes,
        exchangeHash: [UInt8],
        sessionID: [UInt8],
        asServer: Bool = false
    ) throws(SSHProtocolError) -> (clientToServer: PacketKeys, serverToClient: PacketKeys) {
        func make(
            cipherName: String,
            macName: String?,
            letters: (iv: UInt8, key: UInt8, mac: UInt8),
            encrypting: Bool
        )
            throws(SSHProtocolError) -> PacketKeys
        {
            guard let cipher = CipherAlgorithm(sshName: cipherName) else {
                throw SSHProtocolError(.noCommonAlgorithm, "unsupported cipher \(cipherName)")
            }
            func key(_ letter: UInt8, _ count: Int) -> SecureBytes {
                derive(
                    hash: hash,
                    sharedSecret: sharedSecret,
                    exchangeHash: exchangeHash,
                    letter: letter,
                    sessionID: sessionID,
                    count: count
                )
            }
            do {
                let context = try CipherContext(
                    cipher,
                    key: key(letters.key, cipher.keySize),
                    iv: cipher.ivSize == 0 ? SecureBytes(count: 0) : key(letters.iv, cipher.ivSize),
                    encrypting: encrypting
                )
                var mac: MACContext? = nil
                if !cipher.isAEAD {
                    guard let macName, let algorithm = MACAlgorithm(sshName: macName) else {
                        throw SSHProtocolError(.noCommonAlgorithm, "unsupported MAC \(macName ?? "none")")
                    }
                    mac = try MACContext(algorithm, key: key(letters.mac, algorithm.keySize))
                }
                return PacketKeys(cipher: context, mac: mac)
            } catch let error as SSHProtocolError {
                throw error
            } catch {
                throw SSHProtocolError(.cryptoFailure, "cannot key \(cipherName): \(error)")
            }
        }
        let a = UInt8(ascii: "A")
        return (
            try make(
                cipherName: negotiated.cipherClientToServer,
                macName: negotiated.macClientToServer,
                letters: (a, a + 2, a + 4),
                encrypting: !asServer
            ),
            try make(
                cipherName: negotiated.cipherServerToClient,
                macName: negotiated.macServerToClient,
                letters: (a + 1, a + 3, a + 5),
                encrypting: asServer
            )
        )
    }
}
