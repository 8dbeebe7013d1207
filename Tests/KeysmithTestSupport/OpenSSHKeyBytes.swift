import Foundation

/// openssh-key-v1 files built and taken apart byte by byte (PROTOCOL.key), without keysmith,
/// so that tests can make security-key private keys without an authenticator and compare
/// what keysmith and ssh-keygen write.
public enum OpenSSHKeyBytes {
    static let magic = Array("openssh-key-v1".utf8) + [0]
    static let begin = "-----BEGIN OPENSSH PRIVATE KEY-----"
    static let end = "-----END OPENSSH PRIVATE KEY-----"

    /// RFC 4251 §5 `string`.
    public static func string(_ bytes: some Collection<UInt8>) -> [UInt8] { uint32(UInt32(bytes.count)) + bytes }
    public static func string(_ text: String) -> [UInt8] { string(Array(text.utf8)) }
    public static func uint32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// The fields of a security key as sshkey_private_serialize writes them after the type name:
    /// the Ed25519 public key or the curve and point, then application, flags, key handle, reserved.
    public struct SecurityKey: Sendable {
        /// `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com`.
        public var type: String
        /// The 32-byte Ed25519 public key, or the uncompressed P-256 point.
        public var publicKey: [UInt8]
        public var application: String
        public var flags: UInt8
        public var keyHandle: [UInt8]
        public var reserved: [UInt8]

        public init(
            type: String,
            publicKey: [UInt8],
            application: String = "ssh:",
            flags: UInt8 = 0x01,
            keyHandle: [UInt8],
            reserved: [UInt8] = []
        ) {
            self.type = type
            self.publicKey = publicKey
            self.application = application
            self.flags = flags
            self.keyHandle = keyHandle
            self.reserved = reserved
        }

        var isECDSA: Bool { self.type.hasPrefix("sk-ecdsa") }

        /// The public key's wire blob (PROTOCOL.u2f): the key, then `string application`.
        public var publicBlob: [UInt8] {
            var b = string(self.type)
            if self.isECDSA { b += string("nistp256") }
            return b + string(self.publicKey) + string(self.application)
        }

        /// The public part of the private fields: the type name, then the key (without the application).
        public var privateKeyPart: [UInt8] {
            var b = string(self.type)
            if self.isECDSA { b += string("nistp256") }
            return b + string(self.publicKey)
        }

        /// The private fields in full.
        public var privateFields: [UInt8] {
            self.privateKeyPart + string(self.application) + [self.flags] + string(self.keyHandle)
                + string(self.reserved)
        }

        /// The public key line ssh-keygen -y prints for it.
        public func line(comment: String) -> String {
            self.type + " " + Data(self.publicBlob).base64EncodedString() + " " + comment + "\n"
        }
    }

    /// An unencrypted openssh-key-v1 file whose private section holds `fields` (the key's
    /// private fields, type name first) and `comment`, padded 1, 2, 3, … to 8 bytes.
    public static func file(
        publicBlob: [UInt8],
        fields: [UInt8],
        comment: String,
        checkInt: UInt32 = 0x1234_5678
    ) -> String {
        var section = uint32(checkInt) + uint32(checkInt) + fields + string(comment)
        var pad: UInt8 = 0
        while section.count % 8 != 0 {
            pad += 1
            section.append(pad)
        }
        let blob =
            magic + string("none") + string("none") + string([UInt8]()) + uint32(1) + string(publicBlob)
            + string(section)
        return armor(blob)
    }

    /// `blob` in ssh-keygen's armour: base64 in lines of 70.
    public static func armor(_ blob: [UInt8]) -> String {
        let b64 = Array(Data(blob).base64EncodedString().utf8)
        var text = begin + "\n"
        for start in stride(from: 0, to: b64.count, by: 70) {
            text += String(decoding: b64[start..<min(start + 70, b64.count)], as: UTF8.self) + "\n"
        }
        return text + end + "\n"
    }

    /// What an unencrypted openssh-key-v1 file holds: the public blob in the header and the
    /// private section after its two check-ints (the private fields, the comment, the padding).
    /// The check-ints are random for each write, so two writes of one key differ only there.
    public struct Unencrypted: Equatable, CustomStringConvertible {
        public var cipher: String
        public var publicBlob: [UInt8]
        public var afterCheckInts: [UInt8]
        public var description: String { "\(self.cipher) \(hex(self.publicBlob)) \(hex(self.afterCheckInts))" }
    }

    /// Takes an openssh-key-v1 file apart; nil when it is not one, or is encrypted.
    public static func unencrypted(_ text: String) -> Unencrypted? {
        let lines = text.split(separator: "\n")
        guard lines.first == Substring(begin), lines.last == Substring(end) else { return nil }
        guard let data = Data(base64Encoded: lines.dropFirst().dropLast().joined()) else { return nil }
        var bytes = [UInt8](data)[...]
        guard bytes.starts(with: magic) else { return nil }
        bytes = bytes.dropFirst(magic.count)
        func readString() -> ArraySlice<UInt8>? {
            guard bytes.count >= 4 else { return nil }
            let n = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.dropFirst(4)
            guard bytes.count >= n else { return nil }
            defer { bytes = bytes.dropFirst(n) }
            return bytes.prefix(n)
        }
        guard let cipher = readString(), let kdf = readString(), readString() != nil, bytes.count >= 4 else {
            return nil
        }
        bytes = bytes.dropFirst(4)
        guard let pub = readString(), let section = readString(), bytes.isEmpty, section.count >= 8 else {
            return nil
        }
        guard cipher.elementsEqual("none".utf8), kdf.elementsEqual("none".utf8) else { return nil }
        return Unencrypted(
            cipher: String(decoding: cipher, as: UTF8.self),
            publicBlob: Array(pub),
            afterCheckInts: Array(section.dropFirst(8))
        )
    }

    /// The last string of a public key's wire blob taken from a `.pub` line: for
    /// ssh-ed25519 the 32-byte key, for ecdsa-sha2-nistp256 the point.
    public static func lastString(ofKeyLine line: String) -> [UInt8]? {
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return nil }
        var bytes = [UInt8](data)[...]
        var last: [UInt8]? = nil
        while bytes.count >= 4 {
            let n = bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            bytes = bytes.dropFirst(4)
            guard bytes.count >= n else { return nil }
            last = Array(bytes.prefix(n))
            bytes = bytes.dropFirst(n)
        }
        return bytes.isEmpty ? last : nil
    }
}
