import SSHCrypto
package import SSHKeys

/// The server side of the SSH transport layer (RFC 4253), sans I/O: feed it the bytes
/// that arrive and send what ``takeOutbound()`` returns.
///
/// It reads the client's version line (no lines before it, as sshd), offers the host key
/// algorithms of its keys, runs the key exchange (curve25519-sha256, ecdh-sha2-nistp256/
/// 384/521, diffie-hellman-group14-sha256/16-sha512/18-sha512, and
/// diffie-hellman-group-exchange-sha256 answered from the RFC 3526 groups), signs the
/// exchange hash with the host key, derives keys, and frames, encrypts and authenticates
/// packets. It speaks strict key exchange (kex-strict-s-v00@openssh.com), sends
/// SSH_MSG_EXT_INFO with server-sig-algs to a client that signalled ext-info-c, answers
/// re-keys started by the client, and handles IGNORE, DEBUG, UNIMPLEMENTED and DISCONNECT
/// itself. Packets are bounded by ``PacketCodec/maximumPacketLength`` (256 KiB).
///
/// Our version line and first KEXINIT are queued at once. After any thrown error the
/// transport is dead: every later call throws the same error.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHServerTransport {
    /// kex.c SSH_MAX_BANNER_LEN: the longest version line accepted.
    static let maximumLineLength = 8192

    /// The public-key signature algorithms we verify, for server-sig-algs (RFC 8308 §3.1).
    package static let signatureAlgorithms = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]

    private let algorithms: SSHAlgorithms
    private let hostKeys: [SSHPrivateKey]
    private let versionString: String

    private var inbound: [UInt8] = []
    private var outbound: [UInt8] = []
    private var encoder = PacketEncoder()
    private var decoder = PacketDecoder()

    /// One key exchange in progress.
    private struct KexState {
        var ours: KexInitMessage
        var ourPayload: [UInt8]
        var negotiated: SSHNegotiatedAlgorithms?
        var exchange: ServerKeyExchange?
        /// Set once we sent NEWKEYS: the keys for what the client sends after its NEWKEYS.
        var incomingKeys: PacketKeys?
        var outcome: KexOutcome?
        /// RFC 4253 §7: the client guessed its first kex packet wrongly; drop it.
        var ignoreNextKexPacket = false
    }
    private var kex: KexState?
    private var isFirstKex = true
    /// PROTOCOL §1.9: both sides signalled strict key exchange in the initial KEXINITs.
    private var isStrict = false
    /// The client's first KEXINIT listed ext-info-c (RFC 8308 §2.1).
    private var clientWantsExtInfo = false
    /// Upper-layer payloads held while a key exchange runs.
    private var held: [[UInt8]] = []
    private var failure: SSHProtocolError?

    package private(set) var clientVersion: String?
    package private(set) var sessionID: [UInt8]?
    package private(set) var negotiated: SSHNegotiatedAlgorithms?
    /// Whether a key exchange is running.
    package var isExchangingKeys: Bool { self.kex != nil }
    /// How many key exchanges have finished.
    package private(set) var completedKeyExchanges = 0

    /// - Parameters:
    ///   - hostKeys: at least one; each offers the algorithms it can sign with.
    ///   - algorithms: our preferences; the host key list is cut to what `hostKeys` can sign.
    ///   - versionString: our identification, without CR LF.
    package init(
        hostKeys: [SSHPrivateKey],
        algorithms: SSHAlgorithms = .clientDefaults,
        versionString: String = "SSH-2.0-keysmith_0.1"
    ) {
        self.hostKeys = hostKeys
        let signable = Set(hostKeys.flatMap(\.hostKeyAlgorithms))
        var algorithms = algorithms
        algorithms.hostKey = algorithms.hostKey.filter { signable.contains($0) }
        self.algorithms = algorithms
        self.versionString = versionString
        self.outbound.append(contentsOf: Array(versionString.utf8) + [0x0D, 0x0A])
        self.startKex()
    }

    /// Feeds bytes from the network.
    /// - Throws: `SSHProtocolError` for any violation; the connection must then be closed
    ///   (after sending ``takeOutbound()``, which holds a DISCONNECT).
    package func receive(_ bytes: some Collection<UInt8>) throws(SSHProtocolError) -> [SSHTransportEvent] {
        if let failure { throw failure }
        do {
            self.inbound.append(contentsOf: bytes)
            var events: [SSHTransportEvent] = []
            var offset = 0
            defer { self.inbound.removeFirst(offset) }
            if self.clientVersion == nil {
                offset = try self.readVersion()
                if self.clientVersion == nil { return events }
            }
            while let packet = try self.decoder.decode(self.inbound[offset...]) {
                offset += packet.consumed
                try self.handle(packet.payload, sequenceNumber: packet.sequenceNumber, events: &events)
            }
            return events
        } catch {
            self.failure = error
            if error.code != .disconnected && self.clientVersion != nil {
                self.disconnect(
                    reason: error.code == .noCommonAlgorithm ? 3 : 2,
                    description: error.message
                )
            }
            throw error
        }
    }

    /// Queues a message for the client; held while a key exchange runs.
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

    /// The bytes to write to the network now; empties the queue.
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

    /// RFC 4253 §4.2: `SSH-2.0-softwareversion SP comments CR LF`. sshd accepts no lines
    /// before it from a client (kex.c "client sent invalid protocol identifier"), a bare LF
    /// ends it too, and it is at most 8192 bytes.
    private func readVersion() throws(SSHProtocolError) -> Int {
        guard let newline = self.inbound.firstIndex(of: 0x0A) else {
            guard self.inbound.count < Self.maximumLineLength else {
                throw SSHProtocolError(.protocolViolation, "the client's version line is too long")
            }
            if self.inbound.count >= 4 && !self.inbound.starts(with: "SSH-".utf8) {
                throw SSHProtocolError(.protocolViolation, "the client sent no SSH version line")
            }
            return 0
        }
        guard newline < Self.maximumLineLength else {
            throw SSHProtocolError(.protocolViolation, "the client's version line is too long")
        }
        var line = self.inbound[..<newline]
        if line.last == 0x0D { line = line.dropLast() }
        guard line.starts(with: "SSH-".utf8), line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw SSHProtocolError(
                .protocolViolation,
                "the client sent an invalid version line: \(printable(line.prefix(256)))"
            )
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("SSH-2.0-") || text.hasPrefix("SSH-1.99-") else {
            throw SSHProtocolError(
                .protocolViolation,
                "the client speaks an unsupported protocol version: \(printable(line.prefix(256)))"
            )
        }
        self.clientVersion = text
        return newline + 1
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
        let strictInitial = self.isFirstKex && self.isStrict
        switch type {
        case SSHMessageNumber.disconnect:
            var r = SSHWireReader(payload)
            let reason = (try? r.readByte()).flatMap { _ in try? r.readUInt32() } ?? 0
            let text = (try? r.readString()).map { printable($0) } ?? ""
            throw SSHProtocolError(
                .disconnected,
                "the client disconnected (\(SSHDisconnectReason.name(reason)))" + (text.isEmpty ? "" : ": \(text)")
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
            // RFC 8308 §2.5: a client may send it only if we signalled ext-info-s; nothing
            // in it concerns us.
            guard self.sessionID != nil else {
                throw SSHProtocolError(.protocolViolation, "SSH_MSG_EXT_INFO before the first key exchange finished")
            }
        default:
            guard self.kex == nil, self.sessionID != nil else {
                throw SSHProtocolError(.protocolViolation, "unexpected message \(type) during the key exchange")
            }
            if type < 50 && type != SSHMessageNumber.serviceRequest {
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

    /// Sends our KEXINIT; the first one also signals strict key exchange and ext-info-s.
    private func startKex() {
        var kexNames = self.algorithms.keyExchange
        if self.isFirstKex {
            kexNames += [SSHKexExtension.extInfoServer, SSHKexExtension.strictServer]
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
        try? self.sendPacket(payload)
    }

    private func receiveKexInit(_ payload: [UInt8], sequenceNumber: UInt32) throws(SSHProtocolError) {
        if self.kex == nil {
            // A re-key started by the client (RFC 4253 §9).
            self.startKex()
        }
        guard var state = self.kex, state.exchange == nil else {
            throw SSHProtocolError(.protocolViolation, "a second SSH_MSG_KEXINIT during the key exchange")
        }
        let theirs = try KexInitMessage(payload: payload)
        if self.isFirstKex {
            self.clientWantsExtInfo = theirs.keyExchange.contains(SSHKexExtension.extInfoClient)
            if theirs.keyExchange.contains(SSHKexExtension.strictClient) {
                self.isStrict = true
                // PROTOCOL §1.9 a): KEXINIT must be the client's first packet.
                guard sequenceNumber == 0 else {
                    throw SSHProtocolError(
                        .protocolViolation,
                        "strict key exchange violation: SSH_MSG_KEXINIT was not the first packet"
                    )
                }
            }
        }
        let negotiated = try KexNegotiation.negotiate(client: theirs, server: state.ours)
        guard let method = KexMethod(name: negotiated.keyExchange) else {
            throw SSHProtocolError(.noCommonAlgorithm, "unsupported key exchange method \(negotiated.keyExchange)")
        }
        guard let hostKey = self.hostKeys.first(where: { $0.hostKeyAlgorithms.contains(negotiated.hostKey) }) else {
            throw SSHProtocolError(.noCommonAlgorithm, "no host key for \(negotiated.hostKey)")
        }
        // RFC 4253 §7: a guessed packet is dropped unless the guess was right.
        if theirs.firstKexPacketFollows {
            state.ignoreNextKexPacket =
                theirs.keyExchange.first != state.ours.keyExchange.first
                || theirs.hostKey.first != state.ours.hostKey.first
        }
        state.negotiated = negotiated
        state.exchange = ServerKeyExchange(
            method: method,
            hostKeyAlgorithm: negotiated.hostKey,
            hostKey: hostKey,
            clientVersion: self.clientVersion ?? "",
            serverVersion: self.versionString,
            clientKexInit: payload,
            serverKexInit: state.ourPayload
        )
        self.kex = state
    }

    /// Our reply is signed: send it and NEWKEYS, and switch our direction to the new keys.
    private func finishExchange(reply: [UInt8], outcome: KexOutcome) throws(SSHProtocolError) {
        guard var state = self.kex, let negotiated = state.negotiated, let exchange = state.exchange else {
            throw SSHProtocolError(.protocolViolation, "a key exchange message came before SSH_MSG_KEXINIT")
        }
        let sessionID = self.sessionID ?? outcome.exchangeHash
        let keys = try KeyDerivation.packetKeys(
            negotiated: negotiated,
            hash: exchange.method.hash,
            sharedSecret: outcome.sharedSecret,
            exchangeHash: outcome.exchangeHash,
            sessionID: sessionID,
            asServer: true
        )
        try self.sendPacket(reply)
        try self.sendPacket([SSHMessageNumber.newKeys])
        self.encoder.setKeys(keys.serverToClient, resetSequenceNumber: self.isStrict)
        if self.isFirstKex && self.clientWantsExtInfo {
            // RFC 8308 §2.4: the server's EXT_INFO is the next packet after its first NEWKEYS.
            var w = SSHWireWriter()
            w.writeByte(SSHMessageNumber.extInfo)
            w.writeUInt32(1)
            w.writeString("server-sig-algs")
            w.writeString(Self.signatureAlgorithms.joined(separator: ","))
            try self.sendPacket(w.bytes)
        }
        state.incomingKeys = keys.clientToServer
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
            events.append(.ready(sessionID: outcome.exchangeHash))
        }
        self.isFirstKex = false
        self.completedKeyExchanges += 1
        let held = self.held
        self.held = []
        for payload in held { try self.sendPacket(payload) }
    }
}
