import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

/// Our client transport and our server transport joined byte buffer to byte buffer: no
/// sockets, no threads.
struct InMemoryLink {
    let client: SSHTransport
    let server: SSHTransport
    var clientEvents: [SSHTransportEvent] = []
    var serverEvents: [SSHTransportEvent] = []

    /// The client with `algorithms`, the server with `serverAlgorithms` (by default the
    /// same); the server holds a host key of every type.
    init(
        _ algorithms: SSHAlgorithms,
        server serverAlgorithms: SSHAlgorithms? = nil,
        hostKeys: [SSHPrivateKey] = ServerTestKeys.hostKeys
    ) {
        self.client = SSHTransport(role: .client(hostKeyVerifier: { _ in }), algorithms: algorithms)
        self.server = SSHTransport(role: .server(hostKeys: hostKeys), algorithms: serverAlgorithms ?? algorithms)
    }

    /// Moves bytes both ways until neither end has anything to send.
    mutating func pump() throws {
        for _ in 0..<64 {
            let toServer = self.client.takeOutbound()
            let toClient = self.server.takeOutbound()
            if toServer.isEmpty && toClient.isEmpty { return }
            if !toServer.isEmpty { self.serverEvents += try self.server.receive(toServer) }
            if !toClient.isEmpty { self.clientEvents += try self.client.receive(toClient) }
        }
        Issue.record("the transports never went quiet")
    }

    /// The upper-layer payloads an end received, in order.
    static func payloads(_ events: [SSHTransportEvent]) -> [[UInt8]] {
        events.compactMap { event in
            if case .payload(let payload) = event { return payload }
            return nil
        }
    }

    /// Sends channel-data-like messages of several sizes each way and checks that each
    /// arrives whole: it proves each direction's cipher and MAC keys agree.
    mutating func exchangeMessages() throws {
        let sizes = [0, 1, 15, 16, 255, 4000]
        let fromClient = sizes.map { [ConnectionMessage.channelData] + SecureRandom.bytes($0) }
        let fromServer = sizes.map { [ConnectionMessage.channelData] + SecureRandom.bytes($0 + 3) }
        let before = (Self.payloads(self.serverEvents).count, Self.payloads(self.clientEvents).count)
        for message in fromClient { try self.client.send(message) }
        for message in fromServer { try self.server.send(message) }
        try self.pump()
        #expect(Array(Self.payloads(self.serverEvents).dropFirst(before.0)) == fromClient)
        #expect(Array(Self.payloads(self.clientEvents).dropFirst(before.1)) == fromServer)
    }
}

/// Every key exchange × cipher × MAC × host key algorithm keysmith supports, our client
/// against our server in memory: the same session ID and algorithms on both ends, messages
/// both ways after NEWKEYS, then a re-key started by each end with messages held across it.
/// This carries the full product; the sshd interop tests need only one case per algorithm.
///
/// An AEAD cipher negotiates no MAC, so it appears once (with the first MAC offered), not
/// once per MAC. The re-keys cost two more key exchanges per case: the default tier runs them
/// for the cases of a pairwise cover of the four lists (each algorithm, each pair of
/// algorithms re-keyed at least once), the full tier (`make test-full`) for every case.
@Suite("client and server transports in memory, every algorithm combination")
struct InMemoryProductTests {
    static func isAEAD(_ cipher: String) -> Bool { CipherAlgorithm(sshName: cipher)?.isAEAD == true }

    static let product: [(String, String, String, String)] =
        SSHAlgorithms.supportedKeyExchange.flatMap { kex in
            SSHAlgorithms.supportedCiphers.flatMap { cipher in
                (Self.isAEAD(cipher) ? [SSHAlgorithms.supportedMACs[0]] : SSHAlgorithms.supportedMACs).flatMap { mac in
                    SSHAlgorithms.supportedHostKey.map { hostKey in (kex, cipher, mac, hostKey) }
                }
            }
        }

    /// The cases whose re-keys the default tier runs.
    static let rekeyed: Set<[String]> = Set(
        PairwiseCover.rows(
            [
                SSHAlgorithms.supportedKeyExchange, SSHAlgorithms.supportedCiphers, SSHAlgorithms.supportedMACs,
                SSHAlgorithms.supportedHostKey,
            ]
        ) { i, a, j, b in
            // With an AEAD cipher only the first MAC stands in the product.
            !(i == 1 && j == 2 && Self.isAEAD(a) && b != SSHAlgorithms.supportedMACs[0])
        }
    )

    @Test("the product has every combination that negotiates differently")
    func productIsFull() {
        let aead = SSHAlgorithms.supportedCiphers.filter(Self.isAEAD).count
        let plain = SSHAlgorithms.supportedCiphers.count - aead
        #expect(
            Self.product.count
                == SSHAlgorithms.supportedKeyExchange.count * (aead + plain * SSHAlgorithms.supportedMACs.count)
                * SSHAlgorithms.supportedHostKey.count
        )
        #expect(Set(Self.product.map { [$0.0, $0.1, $0.2, $0.3] }).isSuperset(of: Self.rekeyed))
    }

    @Test("handshake, messages both ways, re-keys from each end", arguments: Self.product)
    func handshakeAndRekey(kex: String, cipher: String, mac: String, hostKey: String) throws {
        var algorithms = SSHAlgorithms.clientDefaults
        algorithms.keyExchange = [kex]
        algorithms.ciphers = [cipher]
        algorithms.macs = [mac]
        algorithms.hostKey = [hostKey]
        var link = InMemoryLink(algorithms)
        try link.pump()

        guard case .ready(let clientSession) = link.clientEvents.first,
            case .ready(let serverSession) = link.serverEvents.first
        else {
            Issue.record("no ready event: \(link.clientEvents) \(link.serverEvents)")
            return
        }
        #expect(clientSession == serverSession)
        #expect(link.client.sessionID == link.server.sessionID)
        let isAEAD = Self.isAEAD(cipher)
        let expected = SSHNegotiatedAlgorithms(
            keyExchange: kex,
            hostKey: hostKey,
            cipherClientToServer: cipher,
            cipherServerToClient: cipher,
            macClientToServer: isAEAD ? nil : mac,
            macServerToClient: isAEAD ? nil : mac
        )
        #expect(link.client.negotiated == expected)
        #expect(link.server.negotiated == expected)
        #expect(link.client.hostKey != nil && link.client.hostKey == link.server.hostKey)
        #expect(link.client.serverVersion == link.server.serverVersion)
        #expect(link.client.clientVersion == link.server.clientVersion)
        try link.exchangeMessages()

        // A re-key from each end (RFC 4253 §9); what the initiator sends meanwhile is held
        // and goes out under the new keys.
        guard TestTier.isFull || Self.rekeyed.contains([kex, cipher, mac, hostKey]) else { return }
        for (round, initiator) in [link.client, link.server].enumerated() {
            try initiator.startKeyExchange()
            #expect(initiator.isExchangingKeys)
            let held = [ConnectionMessage.channelData] + SecureRandom.bytes(40)
            try initiator.send(held)
            let receiver = initiator === link.client ? link.server : link.client
            let heldBefore = InMemoryLink.payloads(receiver === link.server ? link.serverEvents : link.clientEvents)
            try link.pump()
            #expect(link.client.completedKeyExchanges == round + 2)
            #expect(link.server.completedKeyExchanges == round + 2)
            #expect(!link.client.isExchangingKeys && !link.server.isExchangingKeys)
            #expect(link.client.sessionID == clientSession)
            #expect(link.server.sessionID == clientSession)
            let heldAfter = InMemoryLink.payloads(receiver === link.server ? link.serverEvents : link.clientEvents)
            #expect(heldAfter.dropFirst(heldBefore.count).first == held)
            try link.exchangeMessages()
        }
    }
}
