import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

/// A matched encoder/decoder pair keyed with the same random keys.
private func keyedPair(cipher: String, mac: String?) throws -> (PacketEncoder, PacketDecoder) {
    let algorithm = try #require(CipherAlgorithm(sshName: cipher))
    let key = SecureBytes(SecureRandom.bytes(algorithm.keySize))
    let iv = SecureBytes(SecureRandom.bytes(algorithm.ivSize))
    var sendMAC: MACContext? = nil
    var receiveMAC: MACContext? = nil
    if let mac {
        let macAlgorithm = try #require(MACAlgorithm(sshName: mac))
        let macKey = SecureBytes(SecureRandom.bytes(macAlgorithm.keySize))
        sendMAC = try MACContext(macAlgorithm, key: macKey)
        receiveMAC = try MACContext(macAlgorithm, key: macKey)
    }
    var encoder = PacketEncoder()
    encoder.setKeys(
        PacketKeys(cipher: try CipherContext(algorithm, key: key, iv: iv, encrypting: true), mac: sendMAC),
        resetSequenceNumber: false
    )
    var decoder = PacketDecoder()
    decoder.setKeys(
        PacketKeys(cipher: try CipherContext(algorithm, key: key, iv: iv, encrypting: false), mac: receiveMAC),
        resetSequenceNumber: false
    )
    return (encoder, decoder)
}

@Suite("binary packet protocol")
struct PacketCodecTests {
    static let aeadCiphers = ["chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]

    @Test("an unencrypted packet: length, padding to 8 bytes, at least 4 bytes of padding")
    func plainFraming() throws {
        var encoder = PacketEncoder()
        encoder.randomBytes = { [UInt8](repeating: 0xAA, count: $0) }
        let packet = try encoder.encode([21])
        // 4 + 1 + 1 + padding ≡ 0 (mod 8) with padding >= 4: padding 10.
        #expect(packet == [0, 0, 0, 12, 10, 21] + [UInt8](repeating: 0xAA, count: 10))
        var decoder = PacketDecoder()
        #expect(try decoder.decode(packet[...].prefix(15)) == nil)
        let decoded = try #require(try decoder.decode(packet[...]))
        #expect(decoded.payload == [21])
        #expect(decoded.consumed == 16)
        #expect(decoded.sequenceNumber == 0)
        #expect(decoder.sequenceNumber == 1)
    }

    static let combinations: [(String, String?)] =
        aeadCiphers.map { ($0, nil) } + SSHAlgorithms.supportedMACs.map { ("aes128-ctr", $0) } + [
            ("aes192-ctr", "hmac-sha2-512"), ("aes256-ctr", "hmac-sha2-256-etm@openssh.com"),
        ]

    @Test("round trip through every cipher and MAC, byte by byte", arguments: combinations)
    func roundTrip(cipher: String, mac: String?) throws {
        var (encoder, decoder) = try keyedPair(cipher: cipher, mac: mac)
        let payloads: [[UInt8]] = [[2], [94] + [UInt8](repeating: 7, count: 1000), Array(0...255), [5, 0, 0, 0, 0]]
        var stream: [UInt8] = []
        for p in payloads { stream += try encoder.encode(p) }
        var got: [[UInt8]] = []
        var buffer: [UInt8] = []
        // Byte by byte: the decoder must wait, never mis-read a partial packet.
        for byte in stream {
            buffer.append(byte)
            if let packet = try decoder.decode(buffer[...]) {
                got.append(packet.payload)
                buffer.removeFirst(packet.consumed)
            }
        }
        #expect(got == payloads)
        #expect(buffer.isEmpty)
        #expect(decoder.sequenceNumber == 4)
    }

    @Test("a flipped bit in the body or the tag is refused", arguments: combinations)
    func tamper(cipher: String, mac: String?) throws {
        let (encoder, _) = try keyedPair(cipher: cipher, mac: mac)
        var probe = encoder
        let clean = try probe.encode([94, 1, 2, 3])
        for position in [clean.count - 1, 9] {
            var (e, d) = try keyedPair(cipher: cipher, mac: mac)
            var packet = try e.encode([94, 1, 2, 3])
            packet[position] ^= 1
            #expect(throws: SSHProtocolError.self) { try d.decode(packet[...]) }
        }
    }

    @Test("huge or tiny length fields fail at once instead of waiting for 4 GiB")
    func badLengths() throws {
        for length: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0, 4, 0, 4], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 13]] {
            var decoder = PacketDecoder()
            #expect(throws: SSHProtocolError.self) { try decoder.decode((length + [4, 1, 2, 3])[...]) }
        }
    }

    @Test("padding shorter than 4 bytes or longer than the packet is refused")
    func badPadding() throws {
        var decoder = PacketDecoder()
        // packet_length 12, padding_length 3.
        #expect(throws: SSHProtocolError.self) {
            try decoder.decode(([0, 0, 0, 12, 3] + [UInt8](repeating: 1, count: 11))[...])
        }
        // padding_length 11: no payload left.
        var other = PacketDecoder()
        #expect(throws: SSHProtocolError.self) {
            try other.decode(([0, 0, 0, 12, 11] + [UInt8](repeating: 1, count: 11))[...])
        }
    }

    @Test("random bytes through a keyed decoder fail or wait, never crash", arguments: aeadCiphers + ["aes128-ctr"])
    func randomInput(cipher: String) throws {
        for round in 0..<200 {
            var (_, decoder) = try keyedPair(cipher: cipher, mac: cipher.hasSuffix("ctr") ? "hmac-sha2-256" : nil)
            let bytes = SecureRandom.bytes(round * 7 % 600)
            do {
                if let packet = try decoder.decode(bytes[...]) {
                    Issue.record("random bytes decoded to \(packet.payload.count) bytes")
                }
            } catch {
                #expect(error.code == .protocolViolation)
            }
        }
    }

    @Test("sequence numbers can be reset (strict key exchange)")
    func sequenceReset() throws {
        var encoder = PacketEncoder()
        _ = try encoder.encode([20])
        _ = try encoder.encode([21])
        #expect(encoder.sequenceNumber == 2)
        let (keyed, _) = try keyedPair(cipher: "aes128-gcm@openssh.com", mac: nil)
        encoder.setKeys(try #require(keyed.keys), resetSequenceNumber: true)
        #expect(encoder.sequenceNumber == 0)
    }
}
