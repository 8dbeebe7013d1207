import SSHCrypto
package import SSHKeys

/// The algorithms both sides settled on.
public struct SSHNegotiatedAlgorithms: Sendable, Hashable {
    public var keyExchange: String
    public var hostKey: String
    public var cipherClientToServer: String
    public var cipherServerToClient: String
    /// nil with an AEAD cipher, which authenticates itself.
    public var macClientToServer: String?
    public var macServerToClient: String?
}

extension SSHNegotiatedAlgorithms {
    /// The client's view as the `kex:` lines `ssh -v` prints (OpenSSH's kex.c `kex_choose_conf`):
    /// the method, the host key algorithm, then each direction, the incoming one first.
    /// An AEAD cipher's MAC is `<implicit>`; keysmith never compresses.
    public var verboseLines: [String] {
        [
            "kex: algorithm: \(self.keyExchange)",
            "kex: host key algorithm: \(self.hostKey)",
            "kex: server->client cipher: \(self.cipherServerToClient) MAC: \(self.macServerToClient ?? "<implicit>") compression: none",
            "kex: client->server cipher: \(self.cipherClientToServer) MAC: \(self.macClientToServer ?? "<implicit>") compression: none",
        ]
    }
}

/// What the transport hands to the layer above.
public enum SSHTransportEvent: Sendable {
    /// The first key exchange finished; `sessionID` is the exchange hash H of it.
    case ready(sessionID: [UInt8])
    /// A message for the layer above (userauth, connection), decrypted and verified.
    case payload([UInt8])
}

/// The client side of the SSH transport layer (RFC 4253), sans I/O: feed it the bytes
/// that arrive and send what ``takeOutbound()`` returns.
///
/// It exchanges versions, negotiates algorithms, runs the key exchange (curve25519-sha256,
/// ecdh-sha2-nistp256/384/521, diffie-hellman-group14-sha256/16-sha512/18-sha512,
/// diffie-hellman-group-exchange-sha256), verifies the host key's signature over the
/// exchange hash, derives keys, and frames, encrypts and authenticates packets. It speaks
/// strict key exchange (kex-strict-c-v00@openssh.com), sends ext-info-c and records
/// server-sig-algs, answers a re-key started by the server, and handles IGNORE, DEBUG,
/// UNIMPLEMENTED and DISCONNECT itself.
///
/// Our version line and first KEXINIT are queued at once, so the first ``takeOutbound()``
/// already has bytes to send. After any thrown error the transport is dead: every later
/// call throws the same error.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHClientTransport {
    /// RFC 4253 §4.2 allows lines before the version line; OpenSSH caps them (kex.c).
    static let maximumPreambleLines = 1024
    /// The longest line accepted during the version exchange, CR LF included.
    static let maximumLineLength = 8192

    private let algorithms: SSHAlgorithms
    private let hostKeyVerifier: (SSHPublicKey) throws(SSHProtocolError) -> Void
    private let versionString: String

    private var inbound: [UInt8] = []
    private var outbound: [UInt8] = []
    private var preambleLines = 0
    private var encoder = PacketEncoder()
    private var decoder = PacketDecoder()

    /// One key exchange in progress.
    private struct KexState {
        var ours: KexInitMessage
        var ourPayload: [UInt8]
        var theirPayload: [UInt8]?
        var negotiated: SSHNegotiatedAlgorithms?
        var exchange: ClientKeyExchange?
        /// Set once we sent NEWKEYS: the keys to use for what the server sends after its NEWKEYS.
        var incomingKeys: PacketKeys?
        var outcome: KexOutcome?
        /// RFC 4253 §7: the server guessed its first kex packet wrongly; drop it.
        var ignoreNextKexPacket = false
    }
    private var kex: KexState?
    private var isFirstKex = true
    /// PROTOCOL §1.9: both sides signalled strict key exchange in the initial KEXINITs.
    private var isStrict = false
    /// Upper-layer payloads held while a key exchange runs.
    private var held: [[UInt8]] = []
    private var failure: SSHProtocolError?

    package private(set) var serverVersion: String?
    package private(set) var sessionID: [UInt8]?
    package private(set) var negotiated: SSHNegotiatedAlgorithms?
    package private(set) var hostKey: SSHPublicKey?
    package private(set) var serverSignatureAlgorithms: [String]?
    /// Whether a key exchange is running (outgoing payloads are held meanwhile).
    package var isExchangingKeys: Bool { self.kex != nil }
    /// How many key exchanges have finished (1 after the first, more after re-keys).
    package private(set) var completedKeyExchanges = 0

    /// - Parameters:
    ///   - algorithms: preferences.
    ///   - hostKeyVerifier: called once the server's host key has signed the exchange
    ///     hash, before NEWKEYS; throwing refuses the key and ends the connection.
    ///   - versionString: our identification, without CR LF.
    package init(
        algorithms: SSHAlgorithms,
        hostKeyVerifier: @escaping (SSHPublicKey) throws(SSHProtocolError) -> Void,
        versionString: String = "SSH-2.0-keysmith_0.1"
    ) {
        self.algorithms = algorithms
        self.hostKeyVerifier = hostKeyVerifier
        self.versionString = versionString
        self.outbound.append(contentsOf: Array(versionString.utf8) + [0x0D, 0x0A])
        // RFC 4253 §7.1: KEXINIT may be sent without waiting for the server's.
        self.startKex()
    }

    /// Feeds bytes from the network.
    /// - Throws: `SSHProtocolError` for any violation; the connection must then be closed.
    package func receive(_ bytes: some Collection<UInt8>) throws(SSHProtocolError) -> [SSHTransportEvent] {
        if let failure { throw failure }
        do {
            self.inbound.append(contentsOf: bytes)
            var events: [SSHTransportEvent] = []
            var offset = 0
            defer { self.inbound.removeFirst(offset) }
            if self.serverVersion == nil {
                offset = try self.readVersion()
                if self.serverVersion == nil { return events }
            }
            while let packet = try self.decoder.decode(self.inbound[offset...]) {
                offset += packet.consumed
                try self.handle(packet.payload, sequenceNumber: packet.sequenceNumber, events: &events)
            }
            return events
        } catch {
            self.failure = error
            // RFC 4253 §11.1: tell the server why, as OpenSSH's sshpkt_fatal does; the
            // driver may send it before closing.
            if error.code != .disconnected {
                self.disconnect(reason: Self.disconnectReason(for: error), description: error.message)
            }
            throw error
        }
    }

    /// RFC 4253 §11.1's reason code for one of our errors.
    private static func disconnectReason(for error: SSHProtocolError) -> UInt32 {
        switch error.code {
        case .hostKeyRejected: 9  // SSH_DISCONNECT_HOST_KEY_NOT_VERIFIABLE
        case .noCommonAlgorithm: 3  // SSH_DISCONNECT_KEY_EXCHANGE_FAILED
        default: 2  // SSH_DISCONNECT_PROTOCOL_ERROR
        }
    }

    /// Queues a message (payload) for the server. Before the first key exchange finishes
    /// or while a re-key runs, it is held and sent afterwards.
    package func send(_ payload: [UInt8]) throws(SSHProtocolError) {
        if let failure { throw failure }
        guard !payload.isEmpty else {
            throw SSHProtocolError(.protocolViolation, "an empty message cannot be sent")
        }
        if self.kex != nil || self.sessionID == nil {
            self.held.append(payload)
            return
        }
        try self.sendPacket(payload)
    }

    /// The bytes to write to the network now (version line, packets); empties the queue.
    package func takeOutbound() -> [UInt8] {
        defer { self.outbound = [] }
        return self.outbound
    }

    /// Queues SSH_MSG_DISCONNECT (RFC 4253 §11.1).
    package func disconnect(reason: UInt32, description: String) {
        var w = SSHWireWriter()
        w.writeByte(SSHMessageNumber.disconnect)
        w.writeUInt32(reason)
        w.writeString(description)
        w.writeString("")
        try? self.sendPacket(w.bytes)
    }

    // MARK: - Version exchange

    /// RFC 4253 §4.2: lines before `SSH-2.0-…` are ignored; the version line ends in CR LF
    /// (a bare LF is accepted, as OpenSSH does). Returns how many bytes were consumed.
    private func readVersion() throws(SSHProtocolError) -> Int {
        var start = 0
        while true {
            let rest = self.inbound[start...]
            guard let newline = rest.firstIndex(of: 0x0A) else {
                guard rest.count < Self.maximumLineLength else {
                    throw SSHProtocolError(.protocolViolation, "the server's version line is too long")
                }
                return start
            }
            guard newline - start < Self.maximumLineLength else {
                throw SSHProtocolError(.protocolViolation, "the server's version line is too long")
            }
            var line = self.inbound[start..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            start = newline + 1
            if line.starts(with: "SSH-".utf8) {
                guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                    throw SSHProtocolError(.protocolViolation, "the server's version line has invalid characters")
                }
                let text = String(decoding: line, as: UTF8.self)
                // SSH-1.99 means a server that speaks both protocol versions (RFC 4253 §5.1).
                guard text.hasPrefix("SSH-2.0-") || text.hasPrefix("SSH-1.99-") else {
                    throw SSHProtocolError(
                        .protocolViolation,
                        "the server speaks an unsupported protocol version: \(printable(line))"
                    )
                }
                self.serverVersion = text
                return start
            }
            self.preambleLines += 1
            guard self.preambleLines <= Self.maximumPreambleLines else {
                throw SSHProtocolError(
                    .protocolViolation,
                    "the server sent no version line in its first \(Self.maximumPreambleLines) lines"
                )
            }
        }
    }

    // MARK: - Packets

    private func sendPacket(_ payload: [UInt8]) throws(SSHProtocolError) {
        self.outbound.append(contentsOf: try self.encoder.encode(payload))
    }

    private func handle(
        _ payload: [UInt8],
        sequenceNumber: UInt32,
        events: inout [SSHTransportEvent]
    ) throws(SSHProtocolError) {
        let type = payload[0]
        // PROTOCOL §1.9 a): during the initial exchange in strict mode nothing else is allowed.
        let strictInitial = self.isFirstKex && self.isStrict
        switch type {
        case SSHMessageNumber.disconnect:
            var r = SSHWireReader(payload)
            let reason = (try? r.readByte()).flatMap { _ in try? r.readUInt32() } ?? 0
            let text = (try? r.readString()).map { printable($0) } ?? ""
            throw SSHProtocolError(
                .disconnected,
                "the server disconnected (\(SSHDisconnectReason.name(reason)))" + (text.isEmpty ? "" : ": \(text)")
            )
        case SSHMessageNumber.ignore, SSHMessageNumber.debug, SSHMessageNumber.unimplemented:
            if strictInitial {
                throw SSHProtocolError(
                    .protocolViolation,
                    "strict key exchange violation: message \(type) during the key exchange"
                )
            }
        case SSHMessageNumber.kexInit:
            try self.receiveKexInit(payload, sequenceNumber: sequenceNumber)
        case SSHMessageNumber.newKeys:
            try self.receiveNewKeys(payload, events: &events)
        case 30...49:
            guard var state = self.kex, let exchange = state.exchange else {
                throw SSHProtocolError(.protocolViolation, "unexpected key exchange message \(type)")
            }
            if state.ignoreNextKexPacket {
                state.ignoreNextKexPacket = false
                self.kex = state
                return
            }
            guard state.outcome == nil else {
                throw SSHProtocolError(.protocolViolation, "unexpected key exchange message \(type) after the reply")
            }
            switch try exchange.handle(payload) {
            case .send(let message):
                try self.sendPacket(message)
            case .finished(let outcome):
                try self.finishExchange(outcome)
            }
        case SSHMessageNumber.extInfo:
            guard self.sessionID != nil, !(self.kex != nil && self.isFirstKex) else {
                throw SSHProtocolError(.protocolViolation, "SSH_MSG_EXT_INFO before the first key exchange finished")
            }
            try self.receiveExtInfo(payload)
        default:
            guard self.kex == nil, self.sessionID != nil else {
                throw SSHProtocolError(.protocolViolation, "unexpected message \(type) during the key exchange")
            }
            if type < 50 && type != SSHMessageNumber.serviceRequest && type != SSHMessageNumber.serviceAccept {
                // RFC 4253 §11.4: an unknown transport message gets SSH_MSG_UNIMPLEMENTED.
                var w = SSHWireWriter()
                w.writeByte(SSHMessageNumber.unimplemented)
                w.writeUInt32(sequenceNumber)
                try self.sendPacket(w.bytes)
                return
            }
            events.append(.payload(payload))
        }
    }

    // MARK: - Key exchange

    /// Sends our KEXINIT; the first one also signals ext-info-c and strict key exchange.
    private func startKex() {
        var kexNames = self.algorithms.keyExchange
        if self.isFirstKex {
            kexNames += [SSHKexExtension.extInfoClient, SSHKexExtension.strictClient]
        }
        let ours = KexInitMessage(
            cookie: SecureRandom.bytes(16),
            keyExchange: kexNames,
            hostKey: self.algorithms.hostKey,
            ciphers: self.algorithms.ciphers,
            macs: self.algorithms.macs
        )
        let payload = ours.payload
        self.kex = KexState(ours: ours, ourPayload: payload)
        // Framing a KEXINIT cannot fail: it is far below the size limit.
        try? self.sendPacket(payload)
    }

    private func receiveKexInit(_ payload: [UInt8], sequenceNumber: UInt32) throws(SSHProtocolError) {
        if self.kex == nil {
            // A re-key started by the server (RFC 4253 §9).
            self.startKex()
        }
        guard var state = self.kex, state.theirPayload == nil else {
            throw SSHProtocolError(.protocolViolation, "a second SSH_MSG_KEXINIT during the key exchange")
        }
        let theirs = try KexInitMessage(payload: payload)
        if self.isFirstKex && theirs.keyExchange.contains(SSHKexExtension.strictServer) {
            self.isStrict = true
            // PROTOCOL §1.9 a): KEXINIT must be the server's first packet.
            guard sequenceNumber == 0 else {
                throw SSHProtocolError(
                    .protocolViolation,
                    "strict key exchange violation: SSH_MSG_KEXINIT was not the first packet"
                )
            }
        }
        let negotiated = try KexNegotiation.negotiate(client: state.ours, server: theirs)
        guard let method = KexMethod(name: negotiated.keyExchange) else {
            throw SSHProtocolError(.noCommonAlgorithm, "unsupported key exchange method \(negotiated.keyExchange)")
        }
        // RFC 4253 §7: a guessed packet is dropped unless the guess (the first kex and host
        // key algorithm of each side) was right.
        if theirs.firstKexPacketFollows {
            state.ignoreNextKexPacket =
                theirs.keyExchange.first != state.ours.keyExchange.first
                || theirs.hostKey.first != state.ours.hostKey.first
        }
        let exchange = try ClientKeyExchange(
            method: method,
            hostKeyAlgorithm: negotiated.hostKey,
            clientVersion: self.versionString,
            serverVersion: self.serverVersion ?? "",
            clientKexInit: state.ourPayload,
            serverKexInit: payload,
            keyMaterialBytes: Self.keyMaterialBytes(negotiated)
        )
        state.theirPayload = payload
        state.negotiated = negotiated
        state.exchange = exchange
        self.kex = state
        try self.sendPacket(exchange.firstMessage)
    }

    /// kex.c `dh_need`: the largest key, block, IV or MAC key size of either direction.
    static func keyMaterialBytes(_ negotiated: SSHNegotiatedAlgorithms) -> Int {
        var need = 0
        for (cipherName, macName) in [
            (negotiated.cipherClientToServer, negotiated.macClientToServer),
            (negotiated.cipherServerToClient, negotiated.macServerToClient),
        ] {
            if let cipher = CipherAlgorithm(sshName: cipherName) {
                need = max(need, cipher.keySize, cipher.blockSize, cipher.ivSize)
            }
            if let macName, let mac = MACAlgorithm(sshName: macName) {
                need = max(need, mac.keySize)
            }
        }
        return need
    }

    /// The server's signature is good: check the key with the caller, send NEWKEYS and
    /// switch our direction to the new keys.
    private func finishExchange(_ outcome: KexOutcome) throws(SSHProtocolError) {
        guard var state = self.kex, let negotiated = state.negotiated, let exchange = state.exchange else {
            throw SSHProtocolError(.protocolViolation, "a key exchange reply came before SSH_MSG_KEXINIT")
        }
        if let known = self.hostKey {
            // A re-key must not change who the server is.
            guard known == outcome.hostKey else {
                throw SSHProtocolError(.hostKeyRejected, "the server's host key changed during a re-key")
            }
        } else {
            try self.hostKeyVerifier(outcome.hostKey)
        }
        let sessionID = self.sessionID ?? outcome.exchangeHash
        let keys = try KeyDerivation.packetKeys(
            negotiated: negotiated,
            hash: exchange.method.hash,
            sharedSecret: outcome.sharedSecret,
            exchangeHash: outcome.exchangeHash,
            sessionID: sessionID
        )
        try self.sendPacket([SSHMessageNumber.newKeys])
        self.encoder.setKeys(keys.clientToServer, resetSequenceNumber: self.isStrict)
        state.incomingKeys = keys.serverToClient
        state.outcome = outcome
        self.kex = state
    }

    private func receiveNewKeys(_ payload: [UInt8], events: inout [SSHTransportEvent]) throws(SSHProtocolError) {
        guard let state = self.kex, let incoming = state.incomingKeys, let outcome = state.outcome else {
            throw SSHProtocolError(.protocolViolation, "unexpected SSH_MSG_NEWKEYS")
        }
        guard payload.count == 1 else {
            throw SSHProtocolError(.protocolViolation, "malformed SSH_MSG_NEWKEYS")
        }
        self.decoder.setKeys(incoming, resetSequenceNumber: self.isStrict)
        self.negotiated = state.negotiated
        self.kex = nil
        if self.sessionID == nil {
            self.sessionID = outcome.exchangeHash
            self.hostKey = outcome.hostKey
            events.append(.ready(sessionID: outcome.exchangeHash))
        }
        self.isFirstKex = false
        self.completedKeyExchanges += 1
        var held = self.held
        self.held = []
        // A held message may be a password request: zero each once it is encrypted.
        defer { for i in held.indices { secureWipe(&held[i]) } }
        for payload in held { try self.sendPacket(payload) }
    }

    /// RFC 8308 §2.3: `uint32 nr-extensions`, then `string name, string value` pairs.
    private func receiveExtInfo(_ payload: [UInt8]) throws(SSHProtocolError) {
        do {
            var r = SSHWireReader(payload)
            _ = try r.readByte()
            let count = try r.readUInt32()
            for _ in 0..<count {
                let name = try r.readString()
                if name.elementsEqual("server-sig-algs".utf8) {
                    self.serverSignatureAlgorithms = try KexInitMessage.readNameList(&r)
                } else {
                    _ = try r.readString()
                }
            }
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw SSHProtocolError(.protocolViolation, "malformed SSH_MSG_EXT_INFO")
        }
    }
}
