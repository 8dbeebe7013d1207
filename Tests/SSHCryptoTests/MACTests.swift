import KeysmithTestSupport
import Testing

@testable import SSHCrypto

@Suite("Transport MACs")
struct MACTests {
    @Test("names and sizes", arguments: MACAlgorithm.allCases)
    func names(_ algorithm: MACAlgorithm) {
        #expect(MACAlgorithm(sshName: algorithm.sshName) == algorithm)
        let is512 = algorithm.sshName.hasPrefix("hmac-sha2-512")
        #expect(algorithm.keySize == (is512 ? 64 : 32))
        #expect(algorithm.macSize == (is512 ? 64 : 32))
        #expect(algorithm.isEncryptThenMAC == algorithm.sshName.hasSuffix("-etm@openssh.com"))
    }

    @Test("SSH names")
    func sshNames() {
        #expect(
            MACAlgorithm.allCases.map(\.sshName) == [
                "hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
            ]
        )
        #expect(MACAlgorithm(sshName: "hmac-sha1") == nil)
        #expect(MACAlgorithm(sshName: "HMAC-SHA2-256") == nil)
        #expect(MACAlgorithm(sshName: "") == nil)
    }

    /// RFC 4231 cases 1 to 4 through the transport MAC: the first four bytes of the data are
    /// the sequence number, the rest the packet. Their keys are shorter than the hash's block,
    /// which HMAC pads with zeros, so zero-extending them to the SSH key size keeps the output.
    @Test("RFC 4231 with the sequence number as the first four bytes", arguments: 0..<4)
    func rfc4231(index: Int) throws {
        let v = DigestTests.rfc4231[index]
        let sequence = v.data.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let packet = v.data.dropFirst(4)
        for (algorithm, expected) in [(MACAlgorithm.hmacSHA2_256, v.sha256), (.hmacSHA2_512_ETM, v.sha512)] {
            let key = SecureBytes(v.key + [UInt8](repeating: 0, count: algorithm.keySize - v.key.count))
            let mac = try MACContext(algorithm, key: key)
            #expect(hex(mac.authenticate(sequenceNumber: sequence, packet)) == expected)
            #expect(mac.verify(sequenceNumber: sequence, packet, mac: [UInt8](hex: expected)))
        }
    }

    @Test("HMAC of uint32 sequence || packet, context reused", arguments: MACAlgorithm.allCases)
    func matchesHMAC(_ algorithm: MACAlgorithm) throws {
        let keyBytes = SecureRandom.bytes(algorithm.keySize)
        let mac = try MACContext(algorithm, key: SecureBytes(keyBytes))
        #expect(mac.algorithm == algorithm)
        let hash: HashFunction = algorithm.macSize == 32 ? .sha256 : .sha512
        let sequences: [UInt32] = [0, 1, 0x0102_0304, 0x7fff_ffff, 0xffff_ffff]
        for sequence in sequences {
            for length in [0, 1, 16, 63, 64, 65, 128, 35000] {
                let packet = SecureRandom.bytes(length)
                let prefix: [UInt8] = [
                    UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xff), UInt8(sequence >> 8 & 0xff),
                    UInt8(sequence & 0xff),
                ]
                let expected = HMAC.authenticate(hash, key: keyBytes, data: prefix + packet)
                // Twice, so a context left dirty by the first call would show.
                #expect(mac.authenticate(sequenceNumber: sequence, packet) == expected)
                #expect(mac.authenticate(sequenceNumber: sequence, packet[...]) == expected)
                #expect(mac.verify(sequenceNumber: sequence, packet, mac: expected))
            }
        }
    }

    @Test("verify refuses wrong MACs", arguments: MACAlgorithm.allCases)
    func verifyRejects(_ algorithm: MACAlgorithm) throws {
        let mac = try MACContext(algorithm, key: SecureBytes(SecureRandom.bytes(algorithm.keySize)))
        let packet = Array("SSH_MSG_IGNORE and friends".utf8)
        let good = mac.authenticate(sequenceNumber: 7, packet)
        var flipped = good
        flipped[flipped.count - 1] ^= 0x80
        #expect(mac.verify(sequenceNumber: 7, packet, mac: good))
        #expect(!mac.verify(sequenceNumber: 8, packet, mac: good))
        #expect(!mac.verify(sequenceNumber: 7, packet + [0], mac: good))
        #expect(!mac.verify(sequenceNumber: 7, packet, mac: flipped))
        #expect(!mac.verify(sequenceNumber: 7, packet, mac: good.dropLast()))
        #expect(!mac.verify(sequenceNumber: 7, packet, mac: good + [0]))
        #expect(!mac.verify(sequenceNumber: 7, packet, mac: [UInt8]()))
        let other = try MACContext(algorithm, key: SecureBytes(SecureRandom.bytes(algorithm.keySize)))
        #expect(!other.verify(sequenceNumber: 7, packet, mac: good))
    }

    @Test("keys of the wrong size are refused", arguments: MACAlgorithm.allCases)
    func keySize(_ algorithm: MACAlgorithm) {
        for count in [0, algorithm.keySize - 1, algorithm.keySize + 1] {
            #expect(throws: CryptoError(.invalidKey, "")) { try MACContext(algorithm, key: SecureBytes(count: count)) }
        }
    }
}
