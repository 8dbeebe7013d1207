import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

/// Where the client and server transports once were two copies that had drifted apart, one
/// rule now holds for both roles; each test runs in both.
@Suite("one transport, both roles")
struct TransportRoleTests {
    enum Side: String, CaseIterable {
        case client, server
    }

    static func transport(_ side: Side) -> SSHTransport {
        switch side {
        case .client: SSHTransport(role: .client(hostKeyVerifier: { _ in }), algorithms: .clientDefaults)
        case .server: SSHTransport(role: .server(hostKeys: ServerTestKeys.hostKeys), algorithms: .clientDefaults)
        }
    }

    /// A peer's KEXINIT, without strict kex or ext-info markers.
    static var peerKexInit: [UInt8] {
        KexInitMessage(
            cookie: SecureRandom.bytes(16),
            keyExchange: ["curve25519-sha256"],
            hostKey: ["ssh-ed25519"],
            ciphers: ["aes128-ctr"],
            macs: ["hmac-sha2-256"]
        ).payload
    }

    @Test("payloads held during a key exchange are wiped once sent", arguments: Side.allCases)
    func heldPayloadsWiped(side: Side) throws {
        var link = InMemoryLink(.clientDefaults)
        let sender = side == .client ? link.client : link.server
        var wiped: [(count: Int, allZero: Bool)] = []
        sender.wipeHeldPayload = { payload in
            secureWipe(&payload) { wiped.append(($0.count, $0.allSatisfy { $0 == 0 })) }
        }
        let secret = [ConnectionMessage.channelData] + Array("hunter2".utf8)
        try sender.send(secret)
        try link.pump()
        let receiver = side == .client ? link.serverEvents : link.clientEvents
        #expect(InMemoryLink.payloads(receiver) == [secret])
        #expect(wiped.count == 1)
        #expect(wiped.first?.count == secret.count && wiped.first?.allZero == true)
    }

    @Test("a second KEXINIT in one key exchange is refused", arguments: Side.allCases)
    func secondKexInit(side: Side) throws {
        let t = Self.transport(side)
        var encoder = PacketEncoder()
        let bytes =
            Array("SSH-2.0-peer\r\n".utf8) + (try encoder.encode(Self.peerKexInit))
            + (try encoder.encode(Self.peerKexInit))
        #expect(throws: SSHProtocolError(.protocolViolation, "")) { try t.receive(bytes) }
        do {
            _ = try t.receive([])
        } catch {
            #expect(error.message == "a second SSH_MSG_KEXINIT during the key exchange")
        }
    }

    @Test("a bad version line queues no DISCONNECT: the peer has not spoken SSH", arguments: Side.allCases)
    func noDisconnectBeforeVersion(side: Side) throws {
        let t = Self.transport(side)
        _ = t.takeOutbound()
        #expect(throws: SSHProtocolError.self) { try t.receive(Array("SSH-1.5-old\r\n".utf8)) }
        #expect(t.takeOutbound().isEmpty)
    }

    @Test("a malformed EXT_INFO is refused by either end", arguments: Side.allCases)
    func malformedExtInfo(side: Side) throws {
        var link = InMemoryLink(.clientDefaults)
        try link.pump()
        let (sender, receiver) = side == .client ? (link.server, link.client) : (link.client, link.server)
        // RFC 8308 §2.3: nr-extensions says 2, one pair follows, cut short.
        try sender.send([SSHMessageNumber.extInfo, 0, 0, 0, 2, 0, 0, 0, 1, 0x61, 0, 0])
        #expect(throws: SSHProtocolError(.protocolViolation, "")) { try receiver.receive(sender.takeOutbound()) }
    }

    @Test("each role signals its own strict-kex and ext-info names", arguments: Side.allCases)
    func kexInitMarkers(side: Side) throws {
        let t = Self.transport(side)
        let out = t.takeOutbound()
        let versionEnd = try #require(out.firstIndex(of: 0x0A))
        var decoder = PacketDecoder()
        let packet = try #require(try decoder.decode(out[(versionEnd + 1)...]))
        let kexInit = try KexInitMessage(payload: packet.payload)
        let letter = side == .client ? "c" : "s"
        #expect(kexInit.keyExchange.suffix(2) == ["ext-info-\(letter)", "kex-strict-\(letter)-v00@openssh.com"])
    }

    @Test("the service message of the other role is unimplemented, not passed up", arguments: Side.allCases)
    func serviceMessageByRole(side: Side) throws {
        var link = InMemoryLink(.clientDefaults)
        try link.pump()
        let (sender, receiver) = side == .client ? (link.server, link.client) : (link.client, link.server)
        // The client receives SERVICE_ACCEPT, the server SERVICE_REQUEST (RFC 4253 §10).
        let wrong = side == .client ? SSHMessageNumber.serviceRequest : SSHMessageNumber.serviceAccept
        try sender.send([wrong, 0, 0, 0, 0])
        #expect(try receiver.receive(sender.takeOutbound()).isEmpty)
        let answer = try sender.receive(receiver.takeOutbound())
        #expect(answer.isEmpty)  // UNIMPLEMENTED is handled by the transport
        let right = side == .client ? SSHMessageNumber.serviceAccept : SSHMessageNumber.serviceRequest
        try sender.send([right, 0, 0, 0, 0])
        let passed = try receiver.receive(sender.takeOutbound())
        #expect(InMemoryLink.payloads(passed) == [[right, 0, 0, 0, 0]])
    }
}
