import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

@Suite("algorithm lists and KEXINIT negotiation")
struct TransportNegotiationTests {
    @Test("defaults follow OpenSSH 9.2's client order")
    func defaults() {
        let d = SSHAlgorithms.clientDefaults
        #expect(d.keyExchange.first == "curve25519-sha256")
        #expect(d.keyExchange.last == "diffie-hellman-group14-sha256")
        #expect(
            d.hostKey == [
                "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512",
                "rsa-sha2-256",
            ]
        )
        #expect(d.ciphers.first == "chacha20-poly1305@openssh.com")
        #expect(d.macs.first == "hmac-sha2-256-etm@openssh.com")
    }

    @Test(
        "ssh_config lists: replace, +append, -remove, ^first, patterns",
        arguments: [
            ("aes256-ctr,aes128-ctr", ["aes256-ctr", "aes128-ctr"]),
            ("+aes128-ctr", ["aes256-gcm@openssh.com", "aes128-ctr"]),
            (
                "^aes128-ctr,chacha20-poly1305@openssh.com",
                ["aes128-ctr", "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]
            ),
            ("-aes256-*", []),
            ("aes*-ctr", ["aes128-ctr", "aes192-ctr", "aes256-ctr"]),
            ("aes256-gcm@openssh.com,3des-cbc", ["aes256-gcm@openssh.com"]),
        ]
    )
    func applying(spec: String, expected: [String]) throws {
        let current = ["aes256-gcm@openssh.com"]
        if expected.isEmpty {
            #expect(throws: SSHProtocolError.self) {
                try SSHAlgorithms.applying(spec, to: current, supported: SSHAlgorithms.supportedCiphers)
            }
        } else {
            #expect(
                try SSHAlgorithms.applying(spec, to: current, supported: SSHAlgorithms.supportedCiphers) == expected
            )
        }
    }

    @Test("a list naming nothing supported, or a negation, is refused")
    func applyingRefuses() {
        for spec in ["3des-cbc", "", "  ", "!aes128-ctr", "+"] {
            #expect(throws: SSHProtocolError.self) {
                try SSHAlgorithms.applying(spec, to: [], supported: SSHAlgorithms.supportedCiphers)
            }
        }
    }

    private func kexInit(_ kex: [String], hostKey: [String], ciphers: [String], macs: [String]) -> KexInitMessage {
        KexInitMessage(
            cookie: [UInt8](repeating: 1, count: 16),
            keyExchange: kex,
            hostKey: hostKey,
            ciphers: ciphers,
            macs: macs
        )
    }

    @Test("KEXINIT encodes and decodes")
    func kexInitRoundTrip() throws {
        var message = self.kexInit(["a", "b"], hostKey: ["c"], ciphers: ["d"], macs: [])
        message.firstKexPacketFollows = true
        #expect(try KexInitMessage(payload: message.payload) == message)
        #expect(throws: SSHProtocolError.self) { try KexInitMessage(payload: Array(message.payload.dropLast(5))) }
        var bad = message.payload
        bad[21] = UInt8(ascii: ",")  // an empty first name
        #expect(throws: SSHProtocolError.self) { try KexInitMessage(payload: bad) }
    }

    @Test("the client's first choice the server supports wins; AEAD ciphers need no MAC")
    func negotiate() throws {
        let client = self.kexInit(
            ["curve25519-sha256", "ecdh-sha2-nistp256", "ext-info-c", "kex-strict-c-v00@openssh.com"],
            hostKey: ["ssh-ed25519", "rsa-sha2-512"],
            ciphers: ["chacha20-poly1305@openssh.com", "aes128-ctr"],
            macs: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"]
        )
        var server = self.kexInit(
            ["ecdh-sha2-nistp256", "curve25519-sha256", "kex-strict-s-v00@openssh.com"],
            hostKey: ["rsa-sha2-512", "ssh-ed25519"],
            ciphers: ["aes128-ctr", "chacha20-poly1305@openssh.com"],
            macs: ["hmac-sha2-256"]
        )
        let n = try KexNegotiation.negotiate(client: client, server: server)
        #expect(n.keyExchange == "curve25519-sha256")
        #expect(n.hostKey == "ssh-ed25519")
        #expect(n.cipherClientToServer == "chacha20-poly1305@openssh.com")
        #expect(n.macClientToServer == nil)
        server.ciphersServerToClient = ["aes128-ctr"]
        let m = try KexNegotiation.negotiate(client: client, server: server)
        #expect(m.cipherServerToClient == "aes128-ctr")
        #expect(m.macServerToClient == "hmac-sha2-256")
        server.keyExchange = ["diffie-hellman-group1-sha1", "ext-info-c"]
        #expect(throws: SSHProtocolError(.noCommonAlgorithm, "")) {
            try KexNegotiation.negotiate(client: client, server: server)
        }
    }

    @Test("group exchange asks for OpenSSH's group size")
    func groupSize() {
        #expect(KeyExchange.estimatedGroupBits(128) == 3072)
        #expect(KeyExchange.estimatedGroupBits(256) == 8192)
        #expect(KeyExchange.estimatedGroupBits(112) == 2048)
    }
}

@Suite("version exchange and transport state")
struct TransportStateTests {
    private func transport() -> SSHTransport {
        SSHTransport(algorithms: .clientDefaults, hostKeyVerifier: { _ in })
    }

    @Test("our version line and KEXINIT go out at once")
    func firstBytes() throws {
        let t = self.transport()
        let out = t.takeOutbound()
        #expect(out.starts(with: Array("SSH-2.0-keysmith_0.1\r\n".utf8)))
        var decoder = PacketDecoder()
        let packet = try #require(try decoder.decode(out.dropFirst(22)))
        let kexInit = try KexInitMessage(payload: packet.payload)
        #expect(kexInit.keyExchange.suffix(2) == ["ext-info-c", "kex-strict-c-v00@openssh.com"])
        #expect(t.takeOutbound().isEmpty)
    }

    @Test("lines before the version line are skipped, split anywhere")
    func preamble() throws {
        let t = self.transport()
        let text = Array("hello\r\nthis is a banner\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".utf8)
        for byte in text { #expect(try t.receive([byte]).isEmpty) }
        #expect(t.serverVersion == "SSH-2.0-OpenSSH_9.2p1 Debian-2")
    }

    @Test(
        "bad version exchanges fail cleanly",
        arguments: [
            Array("SSH-1.5-old\r\n".utf8),
            [UInt8](repeating: UInt8(ascii: "x"), count: 9000),
            Array(String(repeating: "line\r\n", count: 1025).utf8),
            Array("SSH-2.0-a\u{1}b\r\n".utf8),
        ]
    )
    func badVersion(input: [UInt8]) {
        let t = self.transport()
        #expect(throws: SSHProtocolError.self) { try t.receive(input) }
        // Dead after an error.
        #expect(throws: SSHProtocolError.self) { try t.receive(Array("SSH-2.0-x\r\n".utf8)) }
    }

    /// An unencrypted packet as the server would frame it before NEWKEYS.
    private func plainPacket(_ payload: [UInt8]) throws -> [UInt8] {
        var encoder = PacketEncoder()
        return try encoder.encode(payload)
    }

    @Test("strict: a message before the server's KEXINIT is fatal")
    func strictFirstPacket() throws {
        let t = self.transport()
        var server = KexInitMessage(
            cookie: [UInt8](repeating: 0, count: 16),
            keyExchange: ["curve25519-sha256", "kex-strict-s-v00@openssh.com"],
            hostKey: ["ssh-ed25519"],
            ciphers: ["aes128-ctr"],
            macs: ["hmac-sha2-256"]
        )
        server.firstKexPacketFollows = false
        var encoder = PacketEncoder()
        let bytes =
            Array("SSH-2.0-test\r\n".utf8) + (try encoder.encode([2, 0, 0, 0, 0]))
            + (try encoder.encode(server.payload))
        #expect(throws: SSHProtocolError.self) { try t.receive(bytes) }
    }

    @Test("DISCONNECT becomes an error naming the reason")
    func disconnect() throws {
        let t = self.transport()
        var w = SSHWireWriter()
        w.writeByte(1)
        w.writeUInt32(2)
        w.writeString("go away")
        w.writeString("")
        let bytes = Array("SSH-2.0-test\r\n".utf8) + (try self.plainPacket(w.bytes))
        do {
            _ = try t.receive(bytes)
            Issue.record("no error")
        } catch {
            #expect(error.code == .disconnected)
            #expect(error.message.contains("protocol error"))
            #expect(error.message.contains("go away"))
        }
    }

    @Test("payloads sent before the key exchange are held")
    func heldPayloads() throws {
        let t = self.transport()
        _ = t.takeOutbound()
        try t.send([5, 0, 0, 0, 0])
        #expect(t.takeOutbound().isEmpty)
    }

    @Test("upper-layer messages before the first key exchange are refused")
    func earlyPayload() throws {
        let t = self.transport()
        let bytes = Array("SSH-2.0-test\r\n".utf8) + (try self.plainPacket([94, 0, 0, 0, 0]))
        #expect(throws: SSHProtocolError.self) { try t.receive(bytes) }
    }

    @Test("random bytes after the version line fail or wait, never crash; errors queue a DISCONNECT")
    func hostileBytes() throws {
        for round in 0..<300 {
            let t = self.transport()
            _ = t.takeOutbound()
            let noise = SecureRandom.bytes(round * 13 % 2000)
            do {
                _ = try t.receive(Array("SSH-2.0-x\r\n".utf8) + noise)
            } catch {
                #expect(error.code == .protocolViolation || error.code == .disconnected)
                if error.code == .protocolViolation {
                    var decoder = PacketDecoder()
                    let packet = try #require(try decoder.decode(t.takeOutbound()[...]))
                    #expect(packet.payload.first == 1)
                }
            }
        }
    }

    @Test("a 4 GiB length field is refused at once")
    func hugeLength() {
        let t = self.transport()
        #expect(throws: SSHProtocolError.self) {
            try t.receive(Array("SSH-2.0-x\r\n".utf8) + [0xFF, 0xFF, 0xFF, 0xF0, 4])
        }
    }
}
