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

/// The SSH transport layer (RFC 4253) for either end of a connection, sans I/O: feed it
/// the bytes that arrive and send what ``takeOutbound()`` returns.
///
/// It exchanges versions, negotiates algorithms, runs the key exchange (curve25519-sha256,
/// ecdh-sha2-nistp256/384/521, diffie-hellman-group14-sha256/16-sha512/18-sha512,
/// diffie-hellman-group-exchange-sha256), derives keys, and frames, encrypts and
/// authenticates packets (at most ``PacketCodec/maximumPacketLength``). It speaks strict key
/// exchange (PROTOCOL §1.9), answers a re-key started by the peer, and handles IGNORE,
/// DEBUG, UNIMPLEMENTED and DISCONNECT itself.
///
/// What differs by ``Role`` is decided in one `switch` each, where the RFCs say so:
/// - the version exchange: a server may send lines before its version line, a client may
///   not (RFC 4253 §4.2; sshd's kex.c);
/// - the KEXINIT markers: ext-info-c and kex-strict-c-v00@openssh.com from a client,
///   ext-info-s and kex-strict-s-v00@openssh.com from a server (RFC 8308 §2.1, PROTOCOL §1.9);
/// - the exchange hash: the server signs it with its host key, the client checks that
///   signature and asks its verifier about the key (RFC 4253 §8);
/// - EXT_INFO: the server sends server-sig-algs after its first NEWKEYS to a client that
///   asked, the client records it (RFC 8308 §2.4, §3.1);
/// - which direction's keys encrypt (RFC 4253 §7.2).
///
/// Our version line and first KEXINIT are queued at once (RFC 4253 §7.1), so the first
/// ``takeOutbound()`` already has bytes to send. After any thrown error the transport is
/// dead: every later call throws the same error.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHTransport {
    /// Which end of the connection we are.
    package enum Role {
        /// We connected. `hostKeyVerifier` is called once the server's host key has signed
        /// the exchange hash, before NEWKEYS; throwing refuses the key and ends the connection.
        case client(hostKeyVerifier: (SSHPublicKey) throws(SSHProtocolError) -> Void)
        /// We accepted. At least one host key; each offers the algorithms it can sign with.
        case server(hostKeys: [SSHPrivateKey])

        var isClient: Bool {
            if case .client = self { return true }
            return false
        }

        /// The other end, as messages name it.
        var peerName: String { self.isClient ? "server" : "client" }
    }

    /// RFC 4253 §4.2 allows a server lines before the version line; OpenSSH caps them (kex.c).
    static let maximumPreambleLines = 1024
    /// kex.c SSH_MAX_BANNER_LEN: the longest line accepted during the version exchange,
    /// CR LF included.
    static let maximumLineLength = 8192

    /// The public-key signature algorithms a server verifies, for server-sig-algs
    /// (RFC 8308 §3.1).
    package static let signatureAlgorithms = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]

    package let role: Role
    private let algorithms: SSHAlgorithms
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
        /// The peer's KEXINIT of this exchange: one per exchange (RFC 4253 §7.1).
        var theirPayload: [UInt8]?
        var negotiated: SSHNegotiatedAlgorithms?
        var exchange: KeyExchange?
        /// Set once we sent NEWKEYS: the keys for what the peer sends after its NEWKEYS.
        var incomingKeys: PacketKeys?
        var outcome: KexOutcome?
        /// RFC 4253 §7: the peer guessed its first kex packet wrongly; drop it.
        var ignoreNextKexPacket = false
    }
    private var kex: KexState?
    private var isFirstKex = true
    /// PROTOCOL §1.9: both sides signalled strict key exchange in the initial KEXINITs.
    private var isStrict = false
    /// The client's first KEXINIT listed ext-info-c (RFC 8308 §2.1); server role only.
    private var peerWantsExtInfo = false
    /// Upper-layer payloads held while a key exchange runs.
    private var held: [[UInt8]] = []
    private var failure: SSHProtocolError?

    /// The peer's version line, without CR LF, once received.
    package private(set) var peerVersion: String?
    package private(set) var sessionID: [UInt8]?
    package private(set) var negotiated: SSHNegotiatedAlgorithms?
    /// The server's host key: the one that signed the first exchange hash.
    package private(set) var hostKey: SSHPublicKey?
    /// The server's server-sig-algs (RFC 8308 §3.1); client role only.
    package private(set) var serverSignatureAlgorithms: [String]?
    /// Whether a key exchange is running (outgoing payloads are held meanwhile).
    package var isExchangingKeys: Bool { self.kex != nil }
    /// How many key exchanges have finished (1 after the first, more after re-keys).
    package private(set) var completedKeyExchanges = 0

    /// ssh_config's RekeyLimit amount: after this many bytes in either direction under one
    /// set of keys this end starts a re-key; 0 leaves the cipher's own limit, which also
    /// bounds a larger value (packet.c `ssh_set_newkeys`: 2^(block bits / 4) blocks for
    /// 16-byte blocks, 1 GiB for smaller ones).
    package var rekeyLimit: UInt64 = 0
    /// Bytes and packets under the current keys, per direction.
    private var sentBytes: UInt64 = 0
    private var sentPackets: UInt64 = 0
    private var receivedBytes: UInt64 = 0
    private var receivedPackets: UInt64 = 0
    /// packet.c MAX_PACKETS: re-key before a sequence number can come near wrapping.
    static let maximumPacketsPerKey: UInt64 = 1 << 31

    /// The most bytes one direction may carry under one set of keys.
    var byteLimit: UInt64 {
        let cipher = self.negotiated?.cipherClientToServer ?? ""
        let own: UInt64 = cipher.hasPrefix("chacha20") ? 1 << 30 : 1 << 36
        return self.rekeyLimit == 0 ? own : min(self.rekeyLimit, own)
    }

    /// Starts a re-key when this end's limits are reached (packet.c `ssh_packet_need_rekeying`).
    private func rekeyIfDue() {
        guard self.kex == nil, self.sessionID != nil else { return }
        let limit = self.byteLimit
        if self.sentBytes > limit || self.receivedBytes > limit || self.sentPackets > Self.maximumPacketsPerKey
            || self.receivedPackets > Self.maximumPacketsPerKey
        {
            self.startKex()
        }
    }

    /// The server's version line: the peer's for a client, ours for a server.
    package var serverVersion: String? { self.role.isClient ? self.peerVersion : self.versionString }
    /// The client's version line: ours for a client, the peer's for a server.
    package var clientVersion: String? { self.role.isClient ? self.versionString : self.peerVersion }

    /// - Parameters:
    ///   - role: client (with its host key verifier) or server (with its host keys).
    ///   - algorithms: preferences; a server cuts the host key list to what its keys can sign.
    ///   - versionString: our identification, without CR LF.
    package init(role: Role, algorithms: SSHAlgorithms, versionString: String = "SSH-2.0-keysmith_0.1") {
        self.role = role
        var algorithms = algorithms
        if case .server(let hostKeys) = role {
            let signable = Set(hostKeys.flatMap(\.hostKeyAlgorithms))
            algorithms.hostKey = algorithms.hostKey.filter { signable.contains($0) }
        }
        self.algorithms = algorithms
        self.versionString = versionString
        self.outbound.append(contentsOf: Array(versionString.utf8) + [0x0D, 0x0A])
        // RFC 4253 §7.1: KEXINIT may be sent without waiting for the peer's.
        self.startKex()
    }

    /// A client transport.
    /// - Parameters:
    ///   - algorithms: preferences.
    ///   - hostKeyVerifier: called once the server's host key has signed the exchange
    ///     hash, before NEWKEYS; throwing refuses the key and ends the connection.
    ///   - versionString: our identification, without CR LF.
    package convenience init(
        algorithms: SSHAlgorithms,
        hostKeyVerifier: @escaping (SSHPublicKey) throws(SSHProtocolError) -> Void,
        versionString: String = "SSH-2.0-keysmith_0.1"
    ) {
        self.init(role: .client(hostKeyVerifier: hostKeyVerifier), algorithms: algorithms, versionString: versionString)
    }

    /// A server transport.
    /// - Parameters:
    ///   - hostKeys: at least one; each offers the algorithms it can sign with.
    ///   - algorithms: our preferences; the host key list is cut to what `hostKeys` can sign.
    ///   - versionString: our identification, without CR LF.
    package convenience init(
        hostKeys: [SSHPrivateKey],
        algorithms: SSHAlgorithms = .clientDefaults,
        versionString: String = "SSH-2.0-keysmith_0.1"
    ) {
        self.init(role: .server(hostKeys: hostKeys), algorithms: algorithms, versionString: versionString)
    }

    /// Feeds bytes from the network.
    /// - Throws: `SSHProtocolError` for any violation; the connection must then be closed
    ///   (after sending ``takeOutbound()``, which holds a DISCONNECT once versions were
    ///   exchanged).
    package func receive(_ bytes: some Collection<UInt8>) throws(SSHProtocolError) -> [SSHTransportEvent] {
        if let failure { throw failure }
        do {
            self.inbound.append(contentsOf: bytes)
            var events: [SSHTransportEvent] = []
            var offset = 0
            defer { self.inbound.removeFirst(offset) }
            if self.peerVersion == nil {
                offset = try self.readVersion()
                if self.peerVersion == nil { return events }
            }
            while let packet = try self.decoder.decode(self.inbound[offset...]) {
                offset += packet.consumed
                self.receivedBytes += UInt64(packet.consumed)
                self.receivedPackets += 1
                try self.handle(packet.payload, sequenceNumber: packet.sequenceNumber, events: &events)
            }
            self.rekeyIfDue()
            return events
        } catch {
            self.failure = error
            // RFC 4253 §11.1: tell the peer why, as OpenSSH's sshpkt_fatal does; the driver
            // may send it before closing. Not to a peer that has not spoken SSH yet.
            if error.code != .disconnected && self.peerVersion != nil {
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

    /// Queues a message (payload) for the peer. Before the first key exchange finishes
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
        self.rekeyIfDue()
    }

    /// Starts a re-key (RFC 4253 §9: either side may) unless a key exchange is running or
    /// the first has not finished; upper-layer messages are held until it is done.
    package func startKeyExchange() throws(SSHProtocolError) {
        if let failure { throw failure }
        guard self.kex == nil, self.sessionID != nil else { return }
        self.startKex()
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

    /// RFC 4253 §4.2: `SSH-2.0-softwareversion SP comments CR LF` (a bare LF ends it too,
    /// as in OpenSSH), at most 8192 bytes. A server may send other lines before it; sshd
    /// accepts none from a client (kex.c "client sent invalid protocol identifier").
    /// Returns how many bytes were consumed.
    private func readVersion() throws(SSHProtocolError) -> Int {
        let peer = self.role.peerName
        var start = 0
        while true {
            let rest = self.inbound[start...]
            guard let newline = rest.firstIndex(of: 0x0A) else {
                guard rest.count < Self.maximumLineLength else {
                    throw SSHProtocolError(.protocolViolation, "the \(peer)'s version line is too long")
                }
                if !self.role.isClient && rest.count >= 4 && !rest.starts(with: "SSH-".utf8) {
                    throw SSHProtocolError(.protocolViolation, "the client sent no SSH version line")
                }
                return start
            }
            guard newline - start < Self.maximumLineLength else {
                throw SSHProtocolError(.protocolViolation, "the \(peer)'s version line is too long")
            }
            var line = self.inbound[start..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            start = newline + 1
            guard line.starts(with: "SSH-".utf8) else {
                switch self.role {
                case .client:
                    self.preambleLines += 1
                    guard self.preambleLines <= Self.maximumPreambleLines else {
                        throw SSHProtocolError(
                            .protocolViolation,
                            "the server sent no version line in its first \(Self.maximumPreambleLines) lines"
                        )
                    }
                    continue
                case .server:
                    throw SSHProtocolError(
                        .protocolViolation,
                        "the client sent an invalid version line: \(printable(line.prefix(256)))"
                    )
                }
            }
            guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw SSHProtocolError(
                    .protocolViolation,
                    "the \(peer)'s version line has invalid characters: \(printable(line.prefix(256)))"
                )
            }
            let text = String(decoding: line, as: UTF8.self)
            // SSH-1.99 means a peer that speaks both protocol versions (RFC 4253 §5.1).
            guard text.hasPrefix("SSH-2.0-") || text.hasPrefix("SSH-1.99-") else {
                throw SSHProtocolError(
                    .protocolViolation,
                    "the \(peer) speaks an unsupported protocol version: \(printable(line.prefix(256)))"
                )
            }
            self.peerVersion = text
            return start
        }
    }

    // MARK: - Packets

    private func sendPacket(_ payload: [UInt8]) throws(SSHProtocolError) {
        let packet = try self.encoder.encode(payload)
        self.sentBytes += UInt64(packet.count)
        self.sentPackets += 1
        self.outbound.append(contentsOf: packet)
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
                "the \(self.role.peerName) disconnected (\(SSHDisconnectReason.name(reason)))"
                    + (text.isEmpty ? "" : ": \(text)")
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
            case .finished(let reply, let outcome):
                try self.finishExchange(reply: reply, outcome: outcome)
            }
        case SSHMessageNumber.extInfo:
            guard self.sessionID != nil else {
                throw SSHProtocolError(.protocolViolation, "SSH_MSG_EXT_INFO before the first key exchange finished")
            }
            try self.receiveExtInfo(payload)
        default:
            // RFC 4253 §7.1: after a re-key this end started, the peer may still send
            // anything until its own KEXINIT arrives.
            let peerStillSending = self.kex.map { $0.theirPayload == nil } ?? true
            guard peerStillSending, self.sessionID != nil else {
                throw SSHProtocolError(.protocolViolation, "unexpected message \(type) during the key exchange")
            }
            // RFC 4253 §10: the client asks for a service, the server accepts it; both
            // belong to the layer above.
            let serviceMessage = self.role.isClient ? SSHMessageNumber.serviceAccept : SSHMessageNumber.serviceRequest
            if type < 50 && type != serviceMessage {
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

    /// Sends our KEXINIT; the first one also signals ext-info and strict key exchange, with
    /// our role's names (RFC 8308 §2.1, PROTOCOL §1.9).
    private func startKex() {
        var kexNames = self.algorithms.keyExchange
        if self.isFirstKex {
            switch self.role {
            case .client: kexNames += [SSHKexExtension.extInfoClient, SSHKexExtension.strictClient]
            case .server: kexNames += [SSHKexExtension.extInfoServer, SSHKexExtension.strictServer]
            }
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
            // A re-key started by the peer (RFC 4253 §9).
            self.startKex()
        }
        // RFC 4253 §7.1: one KEXINIT from each side per exchange.
        guard var state = self.kex, state.theirPayload == nil else {
            throw SSHProtocolError(.protocolViolation, "a second SSH_MSG_KEXINIT during the key exchange")
        }
        let theirs = try KexInitMessage(payload: payload)
        if self.isFirstKex {
            let strictMarker: String
            switch self.role {
            case .client:
                strictMarker = SSHKexExtension.strictServer
            case .server:
                strictMarker = SSHKexExtension.strictClient
                self.peerWantsExtInfo = theirs.keyExchange.contains(SSHKexExtension.extInfoClient)
            }
            if theirs.keyExchange.contains(strictMarker) {
                self.isStrict = true
                // PROTOCOL §1.9 a): KEXINIT must be the peer's first packet.
                guard sequenceNumber == 0 else {
                    throw SSHProtocolError(
                        .protocolViolation,
                        "strict key exchange violation: SSH_MSG_KEXINIT was not the first packet"
                    )
                }
            }
        }
        let isClient = self.role.isClient
        let negotiated = try KexNegotiation.negotiate(
            client: isClient ? state.ours : theirs,
            server: isClient ? theirs : state.ours
        )
        guard let method = KexMethod(name: negotiated.keyExchange) else {
            throw SSHProtocolError(.noCommonAlgorithm, "unsupported key exchange method \(negotiated.keyExchange)")
        }
        let exchangeRole: KeyExchange.Role
        switch self.role {
        case .client:
            exchangeRole = .client
        case .server(let hostKeys):
            guard let hostKey = hostKeys.first(where: { $0.hostKeyAlgorithms.contains(negotiated.hostKey) }) else {
                throw SSHProtocolError(.noCommonAlgorithm, "no host key for \(negotiated.hostKey)")
            }
            exchangeRole = .server(hostKey: hostKey)
        }
        // RFC 4253 §7: a guessed packet is dropped unless the guess (the first kex and host
        // key algorithm of each side) was right.
        if theirs.firstKexPacketFollows {
            state.ignoreNextKexPacket =
                theirs.keyExchange.first != state.ours.keyExchange.first
                || theirs.hostKey.first != state.ours.hostKey.first
        }
        let exchange = try KeyExchange(
            role: exchangeRole,
            method: method,
            hostKeyAlgorithm: negotiated.hostKey,
            clientVersion: self.clientVersion ?? "",
            serverVersion: self.serverVersion ?? "",
            clientKexInit: isClient ? state.ourPayload : payload,
            serverKexInit: isClient ? payload : state.ourPayload,
            keyMaterialBytes: Self.keyMaterialBytes(negotiated)
        )
        state.theirPayload = payload
        state.negotiated = negotiated
        state.exchange = exchange
        self.kex = state
        if let first = exchange.firstMessage { try self.sendPacket(first) }
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

    /// Our side of the exchange is done: a client checks the host key with its verifier,
    /// a server sends its signed reply; then NEWKEYS, and our direction switches to the
    /// new keys.
    private func finishExchange(reply: [UInt8]?, outcome: KexOutcome) throws(SSHProtocolError) {
        guard var state = self.kex, let negotiated = state.negotiated, let exchange = state.exchange else {
            throw SSHProtocolError(.protocolViolation, "a key exchange reply came before SSH_MSG_KEXINIT")
        }
        if case .client(let hostKeyVerifier) = self.role {
            if let known = self.hostKey {
                // A re-key must not change who the server is.
                guard known == outcome.hostKey else {
                    throw SSHProtocolError(.hostKeyRejected, "the server's host key changed during a re-key")
                }
            } else {
                try hostKeyVerifier(outcome.hostKey)
            }
        }
        let sessionID = self.sessionID ?? outcome.exchangeHash
        let keys = try KeyDerivation.packetKeys(
            negotiated: negotiated,
            hash: exchange.method.hash,
            sharedSecret: outcome.sharedSecret,
            exchangeHash: outcome.exchangeHash,
            sessionID: sessionID,
            asServer: !self.role.isClient
        )
        if let reply { try self.sendPacket(reply) }
        try self.sendPacket([SSHMessageNumber.newKeys])
        switch self.role {
        case .client:
            self.encoder.setKeys(keys.clientToServer, resetSequenceNumber: self.isStrict)
            (self.sentBytes, self.sentPackets) = (0, 0)
            state.incomingKeys = keys.serverToClient
        case .server:
            self.encoder.setKeys(keys.serverToClient, resetSequenceNumber: self.isStrict)
            (self.sentBytes, self.sentPackets) = (0, 0)
            state.incomingKeys = keys.clientToServer
            if self.isFirstKex && self.peerWantsExtInfo {
                // RFC 8308 §2.4: the server's EXT_INFO is the next packet after its first NEWKEYS.
                var w = SSHWireWriter()
                w.writeByte(SSHMessageNumber.extInfo)
                w.writeUInt32(1)
                w.writeString("server-sig-algs")
                w.writeString(Self.signatureAlgorithms.joined(separator: ","))
                try self.sendPacket(w.bytes)
            }
        }
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
        (self.receivedBytes, self.receivedPackets) = (0, 0)
        self.negotiated = state.negotiated
        self.kex = nil
        if self.sessionID == nil {
            self.sessionID = outcome.exchangeHash
            self.hostKey = outcome.hostKey
            events.append(.ready(sessionID: outcome.exchangeHash))
        }
        self.isFirstKex = false
        self.completedKeyExchanges += 1
        try self.sendHeld()
    }

    /// Sends the payloads held during a key exchange, and wipes them once encrypted: a
    /// held message may be a password request or a session's data, in either role.
    private func sendHeld() throws(SSHProtocolError) {
        var held = self.held
        self.held = []
        var sent = 0
        defer { for i in held.indices.prefix(sent) { self.wipeHeldPayload(&held[i]) } }
        while sent < held.count {
            try self.sendPacket(held[sent])
            sent += 1
            // Past a limit again: the rest waits for the next key exchange.
            self.rekeyIfDue()
            if self.kex != nil {
                self.held = Array(held[sent...])
                return
            }
        }
    }

    /// How a held payload is wiped after it was sent; a test may wrap it to watch.
    var wipeHeldPayload: (inout [UInt8]) -> Void = { secureWipe(&$0) }

    /// RFC 8308 §2.3: `uint32 nr-extensions`, then `string name, string value` pairs. A
    /// client records server-sig-algs; a server needs nothing from a client's extensions
    /// (RFC 8308 §2.5) but still refuses a malformed message.
    private func receiveExtInfo(_ payload: [UInt8]) throws(SSHProtocolError) {
        do {
            var r = SSHWireReader(payload)
            _ = try r.readByte()
            let count = try r.readUInt32()
            for _ in 0..<count {
                let name = try r.readString()
                if self.role.isClient && name.elementsEqual("server-sig-algs".utf8) {
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
