public import SSHCrypto

/// What OpenSSH stores in a security key's private key file besides the public key
/// (sshkey.c, sshkey_serialize_private_sk): the application, the flags, the key handle
/// the authenticator gave at enrolment, and a reserved string.
///
/// The key handle is what the authenticator needs to sign again; it is kept in secure
/// storage, as the rest of a private key.
public struct SecurityKeyCredential: Sendable {
    /// The flags OpenSSH keeps with a security key (sk-api.h): what the authenticator must
    /// check before it signs.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8

        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// SSH_SK_USER_PRESENCE_REQD: a touch for every signature (cleared by `-O no-touch-required`).
        public static let userPresenceRequired = Flags(rawValue: 0x01)
        /// SSH_SK_USER_VERIFICATION_REQD: a PIN or biometric for every signature (`-O verify-required`).
        public static let userVerificationRequired = Flags(rawValue: 0x04)
        /// SSH_SK_FORCE_OPERATION: overwrite a resident credential that is already there.
        public static let forceOperation = Flags(rawValue: 0x10)
        /// SSH_SK_RESIDENT_KEY: the credential is kept on the authenticator (`-O resident`).
        public static let residentKey = Flags(rawValue: 0x20)
    }

    /// The FIDO application (relying party) the key was made for, `ssh:` unless `-O application=` said otherwise.
    public var application: [UInt8]
    /// The flags the authenticator is asked to honour.
    public var flags: Flags
    /// The credential's key handle, as the authenticator returned it.
    public var keyHandle: SecureBytes
    /// The reserved string; OpenSSH writes it empty and keeps whatever it read.
    public var reserved: [UInt8]

    public init(application: [UInt8], flags: Flags, keyHandle: SecureBytes, reserved: [UInt8] = []) {
        self.application = application
        self.flags = flags
        self.keyHandle = keyHandle
        self.reserved = reserved
    }

    /// The application as text, as ssh-keygen prints it.
    public var applicationString: String { String(decoding: self.application, as: UTF8.self) }

    /// sshkey_serialize_private_sk: `string application, byte flags, string key_handle, string reserved`.
    func write(to w: inout SSHWireWriter) {
        w.writeString(self.application)
        w.writeByte(self.flags.rawValue)
        w.writeString(self.keyHandle)
        w.writeString(self.reserved)
    }

    /// sshkey_private_deserialize_sk: the fields ``write(to:)`` writes. The application is
    /// read as OpenSSH's sshbuf_get_cstring does, which refuses a NUL inside it.
    static func read(from r: inout SSHWireReader) throws(SSHKeyError) -> SecurityKeyCredential {
        let application = try r.readString()
        guard !application.contains(0) else {
            throw SSHKeyError(.invalidFormat, "the security key's application holds a NUL byte")
        }
        let flags = try r.readByte()
        let keyHandle = SecureBytes(try r.readString())
        let reserved = try r.readString()
        return SecurityKeyCredential(
            application: Array(application),
            flags: Flags(rawValue: flags),
            keyHandle: keyHandle,
            reserved: Array(reserved)
        )
    }
}
