import SSHCrypto

/// The keys of one direction after a NEWKEYS: a cipher and, unless it is an AEAD
/// cipher, a MAC.
final class PacketKeys {
    let cipher: CipherContext
    let mac: MACContext?

    init(cipher: CipherContext, mac: MACContext?) {
        self.cipher = cipher
        self.mac = mac
    }

    var algorithm: CipherAlgorithm { self.cipher.cipher }
    var macSize: Int { self.mac?.algorithm.macSize ?? 0 }

    /// Whether the packet length travels outside the encrypted body (AEAD and EtM):
    /// then the padding aligns only `padding_length || payload || padding`.
    var lengthIsAAD: Bool { self.algorithm.isAEAD || (self.mac?.algorithm.isEncryptThenMAC ?? false) }
}

/// RFC 4253 §6: the binary packet protocol, both directions, with OpenSSH's limits.
///
/// ```
/// uint32    packet_length
/// byte      padding_length
/// byte[n1]  payload; n1 = packet_length - padding_length - 1
/// byte[n2]  random padding; n2 = padding_length
/// byte[m]   mac (Message Authentication Code - MAC); m = mac_length
/// ```
enum PacketCodec {
    /// packet.c PACKET_MAX_SIZE: the largest packet_length accepted.
    static let maximumPacketLength = 256 * 1024
    /// The largest payload we frame ourselves (RFC 4253 §6.1 requires 32768 to be handled;
    /// channel data is kept below this by the layer above).
    static let maximumPayloadLength = maximumPacketLength - 1024
}

/// Frames and protects outgoing packets.
struct PacketEncoder {
    /// The sequence number of the next packet (RFC 4253 §6.4), wrapping at 2^32.
    private(set) var sequenceNumber: UInt32 = 0
    private(set) var keys: PacketKeys?
    /// Random padding; replaceable so tests can make packets repeatable.
    var randomBytes: (Int) -> [UInt8] = { SecureRandom.bytes($0) }

    mutating func setKeys(_ keys: PacketKeys, resetSequenceNumber: Bool) {
        self.keys = keys
        if resetSequenceNumber { self.sequenceNumber = 0 }
    }

    /// One packet on the wire for `payload`.
    mutating func encode(_ payload: some Collection<UInt8>) throws(SSHProtocolError) -> [UInt8] {
        guard payload.count <= PacketCodec.maximumPayloadLength else {
            throw SSHProtocolError(.protocolViolation, "a message of \(payload.count) bytes is too large to send")
        }
        let seq = self.sequenceNumber
        self.sequenceNumber &+= 1
        let blockSize = max(self.keys?.algorithm.blockSize ?? 8, 8)
        let lengthIsAAD = self.keys?.lengthIsAAD ?? false
        // RFC 4253 §6: the padded part is a multiple of the block size, padding 4...255 bytes.
        let covered = (lengthIsAAD ? 1 : 5) + payload.count
        var padding = blockSize - covered % blockSize
        if padding < 4 { padding += blockSize }
        let packetLength = 1 + payload.count + padding
        var packet: [UInt8] = []
        packet.reserveCapacity(4 + packetLength + 64)
        packet.appendUInt32(UInt32(packetLength))
        packet.append(UInt8(padding))
        packet.append(contentsOf: payload)
        packet.append(contentsOf: self.randomBytes(padding))
        guard let keys = self.keys else { return packet }
        // The plaintext may hold a password (RFC 4252 §8): zero it once it is encrypted.
        defer { secureWipe(&packet) }
        do {
            if keys.algorithm.isAEAD {
                // chacha20-poly1305 encrypts the length with its header key; GCM leaves it
                // plain and authenticates it as associated data.
                return try keys.cipher.crypt(sequenceNumber: seq, packet, aadLength: 4)
            }
            guard let mac = keys.mac else {
                throw SSHProtocolError(.cryptoFailure, "\(keys.algorithm.sshName) needs a MAC")
            }
            if mac.algorithm.isEncryptThenMAC {
                var out = try keys.cipher.crypt(sequenceNumber: seq, packet, aadLength: 4)
                out.append(contentsOf: mac.authenticate(sequenceNumber: seq, out))
                return out
            }
            let tag = mac.authenticate(sequenceNumber: seq, packet)
            var out = try keys.cipher.crypt(sequenceNumber: seq, packet, aadLength: 0)
            out.append(contentsOf: tag)
            return out
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw SSHProtocolError(.cryptoFailure, "cannot encrypt a packet: \(error)")
        }
    }
}

/// Reassembles, checks and decrypts incoming packets from a byte stream.
struct PacketDecoder {
    /// The sequence number of the next packet.
    private(set) var sequenceNumber: UInt32 = 0
    private(set) var keys: PacketKeys?
    /// For MAC-then-encrypt ciphers: the first block, already decrypted to read the length.
    private var firstBlock: [UInt8]?

    mutating func setKeys(_ keys: PacketKeys, resetSequenceNumber: Bool) {
        self.keys = keys
        self.firstBlock = nil
        if resetSequenceNumber { self.sequenceNumber = 0 }
    }

    /// The payload of the next whole packet at the start of `buffer`, and how many bytes it
    /// took; nil when more bytes are needed.
    ///
    /// Memory stays bounded: a length field over 256 KiB is refused before anything waits for it.
    mutating func decode(
        _ buffer: ArraySlice<UInt8>
    ) throws(SSHProtocolError) -> (payload: [UInt8], consumed: Int, sequenceNumber: UInt32)? {
        let seq = self.sequenceNumber
        guard let keys = self.keys else {
            guard buffer.count >= 4 else { return nil }
            let length = try Self.checkedLength(buffer.readUInt32(at: buffer.startIndex), blockSize: 8, aligned: 4)
            guard buffer.count >= 4 + length else { return nil }
            let payload = try Self.payload(of: buffer.prefix(4 + length))
            self.sequenceNumber &+= 1
            return (payload, 4 + length, seq)
        }
        let cipher = keys.cipher
        let blockSize = max(keys.algorithm.blockSize, 8)
        let macSize = keys.macSize
        do {
            if keys.algorithm.isAEAD {
                guard buffer.count >= 4 else { return nil }
                let rawLength = try cipher.decryptLength(sequenceNumber: seq, buffer.prefix(4))
                let length = try Self.checkedLength(rawLength, blockSize: blockSize, aligned: 0)
                let total = 4 + length + keys.algorithm.tagSize
                guard buffer.count >= total else { return nil }
                var plain = try cipher.crypt(sequenceNumber: seq, buffer.prefix(total), aadLength: 4)
                defer { secureWipe(&plain) }
                self.sequenceNumber &+= 1
                return (try Self.payload(of: plain[...]), total, seq)
            }
            guard let mac = keys.mac else {
                throw SSHProtocolError(.cryptoFailure, "\(keys.algorithm.sshName) needs a MAC")
            }
            if mac.algorithm.isEncryptThenMAC {
                // The length is plain text; the MAC covers it and the ciphertext.
                guard buffer.count >= 4 else { return nil }
                let length = try Self.checkedLength(
                    buffer.readUInt32(at: buffer.startIndex),
                    blockSize: blockSize,
                    aligned: 0
                )
                let total = 4 + length + macSize
                guard buffer.count >= total else { return nil }
                let body = buffer.prefix(4 + length)
                guard mac.verify(sequenceNumber: seq, body, mac: buffer.dropFirst(4 + length).prefix(macSize)) else {
                    throw SSHProtocolError(.protocolViolation, "a packet's MAC is wrong")
                }
                var plain = try cipher.crypt(sequenceNumber: seq, body, aadLength: 4)
                defer { secureWipe(&plain) }
                self.sequenceNumber &+= 1
                return (try Self.payload(of: plain[...]), total, seq)
            }
            // MAC-then-encrypt: decrypt the first block to learn the length (once: the
            // cipher's stream state moves on).
            if self.firstBlock == nil {
                guard buffer.count >= blockSize else { return nil }
                self.firstBlock = try cipher.crypt(sequenceNumber: seq, buffer.prefix(blockSize), aadLength: 0)
            }
            let rawLength = self.firstBlock?.readUInt32(at: 0) ?? 0
            let length = try Self.checkedLength(rawLength, blockSize: blockSize, aligned: 4)
            let total = 4 + length + macSize
            guard buffer.count >= total, var first = self.firstBlock else { return nil }
            // The decrypted packet may hold a password (RFC 4252 §8): each plaintext buffer
            // is zeroed once the payload is copied out (the first block is released by the
            // codec first, so the copy wiped is the only one).
            self.firstBlock = nil
            var plain = [UInt8]()
            plain.reserveCapacity(4 + length)
            plain.append(contentsOf: first)
            secureWipe(&first)
            defer { secureWipe(&plain) }
            var rest = try cipher.crypt(
                sequenceNumber: seq,
                buffer.dropFirst(blockSize).prefix(4 + length - blockSize),
                aadLength: 0
            )
            plain.append(contentsOf: rest)
            secureWipe(&rest)
            guard mac.verify(sequenceNumber: seq, plain, mac: buffer.dropFirst(4 + length).prefix(macSize)) else {
                throw SSHProtocolError(.protocolViolation, "a packet's MAC is wrong")
            }
            self.sequenceNumber &+= 1
            return (try Self.payload(of: plain[...]), total, seq)
        } catch let error as SSHProtocolError {
            throw error
        } catch let error as CryptoError {
            throw SSHProtocolError(.protocolViolation, "a packet does not decrypt: \(error.message)")
        } catch {
            throw SSHProtocolError(.protocolViolation, "a packet does not decrypt")
        }
    }

    /// packet.c: "Bad packet length" outside 5...PACKET_MAX_SIZE, and the padded part
    /// (with the length field when `aligned` is 4) must be whole cipher blocks.
    private static func checkedLength(_ raw: UInt32, blockSize: Int, aligned: Int) throws(SSHProtocolError) -> Int {
        guard let length = Int(exactly: raw), length >= 5, length <= PacketCodec.maximumPacketLength else {
            throw SSHProtocolError(.protocolViolation, "bad packet length \(raw)")
        }
        guard (length + aligned) % blockSize == 0 else {
            throw SSHProtocolError(
                .protocolViolation,
                "packet length \(length) is not a multiple of the \(blockSize)-byte cipher block"
            )
        }
        return length
    }

    /// The payload of a decrypted packet (length field included): RFC 4253 §6, padding
    /// of at least four bytes and a payload of at least the message number.
    private static func payload(of packet: ArraySlice<UInt8>) throws(SSHProtocolError) -> [UInt8] {
        let length = packet.count - 4
        let padding = Int(packet[packet.startIndex + 4])
        guard padding >= 4, padding <= length - 2 else {
            throw SSHProtocolError(.protocolViolation, "bad padding length \(padding) in a packet of \(length) bytes")
        }
        let start = packet.startIndex + 5
        return Array(packet[start..<(start + length - 1 - padding)])
    }
}

extension Collection<UInt8> {
    /// The big-endian uint32 at `index` (the caller checked there are four bytes).
    func readUInt32(at index: Index) -> UInt32 {
        var value: UInt32 = 0
        var i = index
        for _ in 0..<4 {
            value = value << 8 | UInt32(self[i])
            i = self.index(after: i)
        }
        return value
    }
}

extension [UInt8] {
    mutating func appendUInt32(_ value: UInt32) {
        self.append(UInt8(truncatingIfNeeded: value >> 24))
        self.append(UInt8(truncatingIfNeeded: value >> 16))
        self.append(UInt8(truncatingIfNeeded: value >> 8))
        self.append(UInt8(truncatingIfNeeded: value))
    }
}
