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

/// One key exchange method, for either role (RFC 4253 §8, RFC 4419 §3, RFC 5656 §4,
/// RFC 8731 §3).
///
/// The client speaks first: its public value, or in group exchange its group request;
/// it then checks the server's reply, signed over the exchange hash by the host key.
/// The server answers the request with a group and the public value with that signed
/// reply. Both build the exchange hash with ``ExchangeHash``.
final class KeyExchange {
    /// Which side of the exchange we are.
    enum Role {
        case client
        /// The server signs the exchange hash with `hostKey` (RFC 4253 §8).
        case server(hostKey: SSHPrivateKey)
    }

    enum Step {
        /// A message to send; the exchange goes on.
        case send([UInt8])
        /// The exchange is done on our side; a server sends `reply` (its signed answer)
        /// before NEWKEYS, a client has none.
        case finished(reply: [UInt8]?, outcome: KexOutcome)
    }

    let method: KexMethod
    let hostKeyAlgorithm: String
    private let role: Role
    /// V_C, V_S, I_C, I_S: the start of every method's exchange hash.
    private let hashPrefix: [UInt8]
    private var ephemeral: KexEphemeral?
    /// RFC 4419 §3: min, n, max as the client sent them, and the group the server chose.
    private var groupRequest: DHGroupRequest?
    private var group: DHGroup?
    /// The message number expected next.
    private(set) var expecting: UInt8

    /// The message the client sends first; nil for the server, which waits for it.
    let firstMessage: [UInt8]?

    /// - Parameter keyMaterialBytes: OpenSSH's `dh_need`: the largest of the negotiated
    ///   ciphers' key, block and IV sizes and MAC key sizes, for the group size a client
    ///   asks for in group exchange.
    init(
        role: Role,
        method: KexMethod,
        hostKeyAlgorithm: String,
        clientVersion: String,
        serverVersion: String,
        clientKexInit: [UInt8],
        serverKexInit: [UInt8],
        keyMaterialBytes: Int
    ) throws(SSHProtocolError) {
        self.role = role
        self.method = method
        self.hostKeyAlgorithm = hostKeyAlgorithm
        var w = SSHWireWriter(capacity: 2048)
        w.writeString(clientVersion)
        w.writeString(serverVersion)
        w.writeString(clientKexInit)
        w.writeString(serverKexInit)
        self.hashPrefix = w.bytes

        switch (role, method) {
        case (.server, .groupExchange):
            self.expecting = SSHMessageNumber.kexDHGexRequest
            self.firstMessage = nil
        case (.server, _):
            self.expecting = SSHMessageNumber.kexDHInit
            self.firstMessage = nil
        case (.client, .groupExchange):
            // kexgexc.c: min DH_GRP_MIN, n = dh_estimate(dh_need * 8), max DH_GRP_MAX.
            let request = DHGroupRequest(
                min: 2048,
                preferred: Self.estimatedGroupBits(keyMaterialBytes * 8),
                max: 8192
            )
            self.groupRequest = request
            var first = SSHWireWriter()
            first.writeByte(SSHMessageNumber.kexDHGexRequest)
            first.writeUInt32(request.min)
            first.writeUInt32(request.preferred)
            first.writeUInt32(request.max)
            self.expecting = SSHMessageNumber.kexDHGexGroup
            self.firstMessage = first.bytes
        case (.client, _):
            let ephemeral = try KexEphemeral(method: method, group: nil)
            self.ephemeral = ephemeral
            var first = SSHWireWriter()
            first.writeByte(SSHMessageNumber.kexDHInit)
            method.writePublicValue(ephemeral.publicValue, to: &first)
            self.expecting = SSHMessageNumber.kexDHReply
            self.firstMessage = first.bytes
        }
    }

    /// dh.c `dh_estimate`: a group size for a symmetric strength (NIST SP 800-57).
    static func estimatedGroupBits(_ bits: Int) -> UInt32 {
        if bits <= 112 { return 2048 }
        if bits <= 128 { return 3072 }
        if bits <= 192 { return 7680 }
        return 8192
    }

    /// Handles one key exchange message (30...49) from the peer.
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
            // Group exchange first settles the group (RFC 4419 §3); message numbers alone
            // cannot tell, as SSH_MSG_KEX_DH_GEX_GROUP and SSH_MSG_KEXDH_REPLY are both 31.
            let choosingGroup: Bool
            if case .groupExchange = self.method { choosingGroup = self.group == nil } else { choosingGroup = false }
            switch self.role {
            case .client where choosingGroup:
                return try self.receiveGroup(&r)
            case .client:
                return .finished(reply: nil, outcome: try self.receiveReply(&r))
            case .server where choosingGroup:
                return try self.receiveGroupRequest(&r)
            case .server(let hostKey):
                return try self.receivePublicValue(&r, hostKey: hostKey)
            }
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

    // MARK: - Group exchange (RFC 4419 §3)

    /// The RFC 3526 groups a server answers a group exchange with.
    private static let exchangeGroups: [DHGroup] = [.group14, .group16, .group18]

    /// Server: `uint32 min, uint32 n, uint32 max`; the answer is `mpint p, mpint g`.
    /// As kexgexs.c with a moduli file holding only the RFC 3526 groups: the smallest
    /// group of at least `n` bits within min...max, else the largest within it.
    private func receiveGroupRequest(_ r: inout SSHWireReader) throws -> Step {
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
        self.groupRequest = DHGroupRequest(min: min, preferred: preferred, max: max)
        self.group = group
        self.expecting = SSHMessageNumber.kexDHGexInit
        var w = SSHWireWriter()
        w.writeByte(SSHMessageNumber.kexDHGexGroup)
        w.writeMPInt(group.prime)
        w.writeMPInt(group.generator)
        return .send(w.bytes)
    }

    /// Client: `mpint p, mpint g`; the answer is SSH_MSG_KEX_DH_GEX_INIT, `mpint e`.
    private func receiveGroup(_ r: inout SSHWireReader) throws -> Step {
        let p = try r.readPositiveMPInt()
        let g = try r.readPositiveMPInt()
        try r.expectEnd("SSH_MSG_KEX_DH_GEX_GROUP")
        let group = try DHGroup(prime: p, generator: g)
        // kexgexc.c: SSH_ERR_DH_GEX_OUT_OF_RANGE unless min <= bits(p) <= max.
        guard let request = self.groupRequest, group.bits >= Int(request.min), group.bits <= Int(request.max) else {
            throw SSHProtocolError(.protocolViolation, "the server's DH group of \(group.bits) bits is out of range")
        }
        let ephemeral = try KexEphemeral(method: self.method, group: group)
        self.group = group
        self.ephemeral = ephemeral
        self.expecting = SSHMessageNumber.kexDHGexReply
        var w = SSHWireWriter()
        w.writeByte(SSHMessageNumber.kexDHGexInit)
        self.method.writePublicValue(ephemeral.publicValue, to: &w)
        return .send(w.bytes)
    }

    // MARK: - The public values and the signed reply

    /// The group-exchange fields of H, once a group was chosen.
    private var groupExchangeFields: (DHGroupRequest, DHGroup)? {
        guard case .groupExchange = self.method, let request = self.groupRequest, let group = self.group else {
            return nil
        }
        return (request, group)
    }

    /// Server: the client's public value (`string Q_C` or `mpint e`); the reply is
    /// `string K_S, (string Q_S | mpint f), string signature of H`.
    private func receivePublicValue(_ r: inout SSHWireReader, hostKey: SSHPrivateKey) throws -> Step {
        let replyNumber: UInt8
        if case .groupExchange = self.method {
            guard self.group != nil else {
                throw SSHProtocolError(.protocolViolation, "SSH_MSG_KEX_DH_GEX_INIT before the group request")
            }
            replyNumber = SSHMessageNumber.kexDHGexReply
        } else {
            replyNumber = SSHMessageNumber.kexDHReply
        }
        let clientPublic = try self.method.readPublicValue(&r)
        try r.expectEnd(self.method.initMessageName)
        let ephemeral = try KexEphemeral(method: self.method, group: self.group)
        let secret = try ephemeral.sharedSecret(peerPublicValue: clientPublic)
        let hostKeyBlob = hostKey.publicKey.wireBlob
        let hash = ExchangeHash(
            method: self.method,
            prefix: self.hashPrefix,
            hostKeyBlob: hostKeyBlob,
            groupExchange: self.groupExchangeFields,
            clientPublic: clientPublic,
            serverPublic: ephemeral.publicValue,
            sharedSecret: secret
        )
        let rsaHash: RSASignatureHash = self.hostKeyAlgorithm == "rsa-sha2-256" ? .sha256 : .sha512
        let signature = try hostKey.signature(for: hash.value, rsaHash: rsaHash)

        var reply = SSHWireWriter(capacity: 2048)
        reply.writeByte(replyNumber)
        reply.writeString(hostKeyBlob)
        self.method.writePublicValue(ephemeral.publicValue, to: &reply)
        reply.writeString(signature.wireEncoding)
        self.expecting = 0
        return .finished(
            reply: reply.bytes,
            outcome: KexOutcome(
                sharedSecret: hash.encodedSecret,
                exchangeHash: hash.value,
                hostKey: hostKey.publicKey
            )
        )
    }

    /// Client: the reply, `string K_S, (string Q_S | mpint f), string signature of H`.
    private func receiveReply(_ r: inout SSHWireReader) throws -> KexOutcome {
        guard let ephemeral = self.ephemeral else {
            throw SSHProtocolError(.protocolViolation, "a key exchange reply came before the exchange started")
        }
        let hostKeyBlob = try r.readString()
        let serverPublic = try self.method.readPublicValue(&r)
        let secret = try ephemeral.sharedSecret(peerPublicValue: serverPublic)
        let signatureBlob = try r.readString()
        try r.expectEnd("the key exchange reply")
        let hash = ExchangeHash(
            method: self.method,
            prefix: self.hashPrefix,
            hostKeyBlob: hostKeyBlob,
            groupExchange: self.groupExchangeFields,
            clientPublic: ephemeral.publicValue,
            serverPublic: serverPublic,
            sharedSecret: secret
        )

        let hostKey = try SSHPublicKey(wireBlob: hostKeyBlob)
        try Self.checkHostKey(hostKey, algorithm: self.hostKeyAlgorithm)
        let signature = try SSHSignature(wireEncoding: signatureBlob)
        // A host certificate signs as the key it certifies, and that key verifies it.
        let signatureAlgorithm = SSHAlgorithms.signatureAlgorithm(of: self.hostKeyAlgorithm)
        guard signature.algorithm == signatureAlgorithm else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server signed with \(printable(signature.algorithm.utf8)), not the negotiated \(signatureAlgorithm)"
            )
        }
        guard hostKey.plainKey.isValidSignature(signature, for: hash.value) else {
            throw SSHProtocolError(
                .protocolViolation,
                "the server's host key signature over the exchange hash is invalid"
            )
        }
        self.ephemeral = nil
        return KexOutcome(sharedSecret: hash.encodedSecret, exchangeHash: hash.value, hostKey: hostKey)
    }

    /// The host key's type must fit the negotiated algorithm (rsa-sha2-* use ssh-rsa keys,
    /// rsa-sha2-*-cert-v01@openssh.com certificates of them).
    static func checkHostKey(_ key: SSHPublicKey, algorithm: String) throws(SSHProtocolError) {
        let fits =
            switch algorithm {
            case "rsa-sha2-256", "rsa-sha2-512": key.type == .rsa
            case "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com":
                key.type == .certificate(.rsa)
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

/// RFC 4419 §3: the group sizes a client asks for, `uint32 min, uint32 n, uint32 max`.
struct DHGroupRequest {
    var min: UInt32
    var preferred: UInt32
    var max: UInt32
}

/// One side's ephemeral key of a key exchange.
private enum KexEphemeral {
    case x25519(privateKey: SecureBytes, publicKey: [UInt8])
    case ecdh(ECDHKey)
    case dh(DHKeyPair)

    /// A fresh key for `method`; the DH methods take `group` (group exchange) or their own.
    init(method: KexMethod, group: DHGroup?) throws(SSHProtocolError) {
        do {
            switch method {
            case .curve25519:
                let pair = X25519.generate()
                self = .x25519(privateKey: pair.privateKey, publicKey: pair.publicKey)
            case .ecdh(let curve):
                self = .ecdh(try ECDHKey(curve: curve))
            case .dhGroup(let fixed, _):
                self = .dh(try DHKeyPair(group: fixed))
            case .groupExchange:
                guard let group else {
                    throw SSHProtocolError(.protocolViolation, "a DH key before the group was chosen")
                }
                self = .dh(try DHKeyPair(group: group))
            }
        } catch let error as CryptoError {
            throw SSHProtocolError(.cryptoFailure, "cannot make an ephemeral key: \(error.message)")
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw SSHProtocolError(.cryptoFailure, "cannot make an ephemeral key")
        }
    }

    /// Q (an X25519 value or EC point) or e / f (a DH number's magnitude).
    var publicValue: [UInt8] {
        switch self {
        case .x25519(_, let publicKey): publicKey
        case .ecdh(let key): key.publicPoint
        case .dh(let pair): pair.publicValue
        }
    }

    func sharedSecret(peerPublicValue: ArraySlice<UInt8>) throws -> SecureBytes {
        switch self {
        case .x25519(let privateKey, _):
            try X25519.sharedSecret(privateKey: privateKey, peerPublicKey: peerPublicValue)
        case .ecdh(let key): try key.sharedSecret(peerPoint: peerPublicValue)
        case .dh(let pair): try pair.sharedSecret(peerPublicValue: peerPublicValue)
        }
    }
}

extension KexMethod {
    /// Whether the public values travel as strings (RFC 5656 §4, RFC 8731 §3: Q_C, Q_S)
    /// rather than mpints (RFC 4253 §8, RFC 4419 §3: e, f).
    fileprivate var publicValuesAreStrings: Bool {
        switch self {
        case .curve25519, .ecdh: true
        case .dhGroup, .groupExchange: false
        }
    }

    fileprivate func writePublicValue(_ value: [UInt8], to w: inout SSHWireWriter) {
        if self.publicValuesAreStrings { w.writeString(value) } else { w.writeMPInt(value) }
    }

    fileprivate func readPublicValue(_ r: inout SSHWireReader) throws(SSHKeyError) -> ArraySlice<UInt8> {
        if self.publicValuesAreStrings { return try r.readString() }
        return try r.readPositiveMPInt()
    }

    /// The client's message carrying its public value, as error messages name it.
    fileprivate var initMessageName: String {
        switch self {
        case .curve25519, .ecdh: "SSH_MSG_KEX_ECDH_INIT"
        case .dhGroup: "SSH_MSG_KEXDH_INIT"
        case .groupExchange: "SSH_MSG_KEX_DH_GEX_INIT"
        }
    }
}

/// The exchange hash H, built the same way by both roles:
///
/// ```
/// H = HASH(string V_C || string V_S || string I_C || string I_S || string K_S
///          [|| uint32 min || uint32 n || uint32 max || mpint p || mpint g]   RFC 4419 §3
///          || client's public value || server's public value || mpint K)
/// ```
///
/// with the public values as `string Q_C, Q_S` (RFC 5656 §4, RFC 8731 §3) or `mpint e, f`
/// (RFC 4253 §8).
struct ExchangeHash {
    /// H.
    let value: [UInt8]
    /// K encoded as an mpint, the form both H and key derivation (RFC 4253 §7.2) hash.
    let encodedSecret: SecureBytes

    init(
        method: KexMethod,
        prefix: [UInt8],
        hostKeyBlob: some Collection<UInt8>,
        groupExchange: (DHGroupRequest, DHGroup)?,
        clientPublic: some Collection<UInt8>,
        serverPublic: some Collection<UInt8>,
        sharedSecret: SecureBytes
    ) {
        var h = SSHWireWriter(capacity: 4096)
        h.writeBytes(prefix)
        h.writeString(hostKeyBlob)
        if let fields = groupExchange {
            let (request, group) = fields
            h.writeUInt32(request.min)
            h.writeUInt32(request.preferred)
            h.writeUInt32(request.max)
            h.writeMPInt(group.prime)
            h.writeMPInt(group.generator)
        }
        if method.publicValuesAreStrings {
            h.writeString(clientPublic)
            h.writeString(serverPublic)
        } else {
            h.writeMPInt(clientPublic)
            h.writeMPInt(serverPublic)
        }
        // K is hashed as an mpint: for curve25519 its 32 bytes read as an unsigned
        // big-endian number (RFC 8731 §3.1), for ECDH and DH the number itself.
        var k = SSHWireWriter(capacity: 1100)
        k.writeMPInt(sharedSecret)
        self.encodedSecret = k.takeSecure()
        var digest = DigestContext(method.hash)
        digest.update(h.bytes)
        digest.update(self.encodedSecret)
        self.value = digest.finalize()
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
