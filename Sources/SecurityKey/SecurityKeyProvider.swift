public import SSHCrypto

/// The key algorithms a FIDO security key makes for SSH (sk-api.h `SSH_SK_ECDSA`,
/// `SSH_SK_ED25519`).
public enum SecurityKeyAlgorithm: Sendable, Hashable, CaseIterable {
    /// ECDSA on NIST P-256 with SHA-256 (COSE ES256): `sk-ecdsa-sha2-nistp256@openssh.com`.
    case ecdsaP256
    /// Ed25519 (COSE EdDSA): `sk-ssh-ed25519@openssh.com`.
    case ed25519

    /// The number sk-api.h gives the algorithm.
    package var middlewareValue: UInt32 {
        switch self {
        case .ecdsaP256: 0x00
        case .ed25519: 0x01
        }
    }

    package init?(middlewareValue: UInt32) {
        switch middlewareValue {
        case 0x00: self = .ecdsaP256
        case 0x01: self = .ed25519
        default: return nil
        }
    }

    /// The size of a public key: the uncompressed P-256 point (0x04 || X || Y) or the
    /// Ed25519 key.
    public var publicKeySize: Int {
        switch self {
        case .ecdsaP256: 65
        case .ed25519: 32
        }
    }
}

/// What a key asks of its authenticator, as OpenSSH stores it with a security key
/// (sk-api.h; PROTOCOL.u2f's private key `flags`).
public struct SecurityKeyFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Each signature needs a touch (`SSH_SK_USER_PRESENCE_REQD`); ssh-keygen's
    /// `-O no-touch-required` clears it.
    public static let userPresenceRequired = SecurityKeyFlags(rawValue: 0x01)
    /// Each signature needs the PIN or a biometric (`SSH_SK_USER_VERIFICATION_REQD`,
    /// `-O verify-required`).
    public static let userVerificationRequired = SecurityKeyFlags(rawValue: 0x04)
    /// Enrol even when a resident key for the application and user exists
    /// (`SSH_SK_FORCE_OPERATION`).
    public static let forceOperation = SecurityKeyFlags(rawValue: 0x10)
    /// The key is kept on the authenticator (`SSH_SK_RESIDENT_KEY`, `-O resident`).
    public static let residentKey = SecurityKeyFlags(rawValue: 0x20)
}

/// Options for one operation, as ssh-keygen passes them (`-O device=`, `-O user=`).
public struct SecurityKeyOptions: Sendable, Hashable {
    /// The authenticator to use (a device path such as `/dev/hidraw0`); nil lets the
    /// provider find one.
    public var device: String?
    /// The user name a resident key is stored under (at most 32 bytes; enrolment only).
    public var user: String?

    public init(device: String? = nil, user: String? = nil) {
        self.device = device
        self.user = user
    }
}

/// A new key, as the authenticator returned it from enrolment.
public struct SecurityKeyEnrollment: Sendable, Hashable {
    /// The key's algorithm.
    public let algorithm: SecurityKeyAlgorithm
    /// The public key: the 65-byte uncompressed P-256 point, or the 32-byte Ed25519 key.
    public let publicKey: [UInt8]
    /// The key handle, which the authenticator needs back for each signature.
    public let keyHandle: [UInt8]
    /// The flags to store with the key.
    public let flags: SecurityKeyFlags
    /// The attestation signature (empty when the authenticator gave none).
    public let attestationSignature: [UInt8]
    /// The attestation certificate, DER (empty for self-attestation).
    public let attestationCertificate: [UInt8]
    /// The authenticator data of the attestation, CBOR-encoded (empty when none).
    public let authenticatorData: [UInt8]

    public init(
        algorithm: SecurityKeyAlgorithm,
        publicKey: [UInt8],
        keyHandle: [UInt8],
        flags: SecurityKeyFlags,
        attestationSignature: [UInt8] = [],
        attestationCertificate: [UInt8] = [],
        authenticatorData: [UInt8] = []
    ) {
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.keyHandle = keyHandle
        self.flags = flags
        self.attestationSignature = attestationSignature
        self.attestationCertificate = attestationCertificate
        self.authenticatorData = authenticatorData
    }
}

/// A signature made by a security key, with the flags and counter it signed.
///
/// PROTOCOL.u2f: the authenticator signs
///
///     byte[32]  SHA256(application)
///     byte      flags
///     uint32    counter
///     byte[32]  SHA256(message)
///
/// with Ed25519 directly, or with ECDSA P-256 over its SHA-256 (``signedData(application:flags:counter:message:)``).
public struct SecurityKeySignature: Sendable, Hashable {
    /// The signature's bytes.
    public enum Value: Sendable, Hashable {
        /// The 64-byte Ed25519 signature.
        case ed25519([UInt8])
        /// ECDSA's r and s, unsigned big-endian numbers (leading zeros as the
        /// authenticator gave them; OpenSSH writes them as mpints).
        case ecdsa(r: [UInt8], s: [UInt8])
    }

    /// The signature.
    public let value: Value
    /// The authenticator's flags byte: bit 0x01 user present, 0x04 user verified.
    public let flags: UInt8
    /// The authenticator's signature counter.
    public let counter: UInt32

    public init(value: Value, flags: UInt8, counter: UInt32) {
        self.value = value
        self.flags = flags
        self.counter = counter
    }

    /// Whether the authenticator saw the user (flags bit 0x01), what sshd requires unless
    /// authorized_keys says `no-touch-required`.
    public var userPresent: Bool { self.flags & 0x01 != 0 }
    /// Whether the authenticator verified the user (flags bit 0x04).
    public var userVerified: Bool { self.flags & 0x04 != 0 }

    /// The bytes the authenticator signs for `message` (PROTOCOL.u2f "SSH U2F signatures"):
    /// SHA256(application) || flags || counter (big-endian) || SHA256(message).
    public static func signedData(
        application: String,
        flags: UInt8,
        counter: UInt32,
        message: some Collection<UInt8>
    ) -> [UInt8] {
        var data = Digest.hash(.sha256, Array(application.utf8))
        data.append(flags)
        data += withUnsafeBytes(of: counter.bigEndian) { Array($0) }
        data += Digest.hash(.sha256, message)
        return data
    }
}

/// A key kept on an authenticator (a resident, "discoverable" credential).
public struct SecurityKeyResidentKey: Sendable, Hashable {
    /// The application it was made for (`ssh:` and what follows).
    public let application: String
    /// The key, as enrolment returned it (no attestation).
    public let enrollment: SecurityKeyEnrollment
    /// The user ID it is stored under (ssh-keygen's `-O user=`, zero-padded to 32 bytes).
    public let userID: [UInt8]
    /// The authenticator's slot number.
    public let slot: Int

    public init(application: String, enrollment: SecurityKeyEnrollment, userID: [UInt8], slot: Int) {
        self.application = application
        self.enrollment = enrollment
        self.userID = userID
        self.slot = slot
    }
}

/// Something that makes and uses security keys: OpenSSH's middleware API
/// (``MiddlewareProvider``) or a FIDO2 token through libfido2 (``FIDO2Provider``).
///
/// It works on raw bytes: public keys, key handles and signatures as the authenticator
/// gives them. A PIN is read during the call only; the caller's `SecureBytes` is wiped when
/// it is released. Each method may block for as long as the authenticator waits for a touch.
public protocol SecurityKeyProvider: Sendable {
    /// Makes a new key on the authenticator.
    ///
    /// - Parameters:
    ///   - algorithm: The key's algorithm.
    ///   - application: The application (relying party) it is bound to, `ssh:` by default
    ///     in OpenSSH.
    ///   - challenge: The attestation challenge (the authenticator signs its SHA-256).
    ///   - flags: What the key asks of its authenticator.
    ///   - pin: The authenticator's PIN, if the user gave one.
    ///   - options: Device and user.
    /// - Throws: ``SecurityKeyError``; ``SecurityKeyError/Code/pinRequired`` when a PIN is needed.
    func enroll(
        algorithm: SecurityKeyAlgorithm,
        application: String,
        challenge: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment

    /// Signs `message` with the key of `keyHandle`.
    ///
    /// - Parameters:
    ///   - algorithm: The key's algorithm.
    ///   - message: The data to sign as OpenSSH passes it to the middleware (the
    ///     authenticator signs its SHA-256, see ``SecurityKeySignature``).
    ///   - application: The application the key was made for.
    ///   - keyHandle: The key handle from enrolment.
    ///   - flags: The key's stored flags.
    ///   - pin: The authenticator's PIN, if the user gave one.
    ///   - options: The device.
    /// - Throws: ``SecurityKeyError``; ``SecurityKeyError/Code/pinRequired`` when a PIN is needed.
    func sign(
        algorithm: SecurityKeyAlgorithm,
        message: [UInt8],
        application: String,
        keyHandle: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeySignature

    /// The resident keys on the authenticator (`ssh-keygen -K`); authenticators want the PIN.
    ///
    /// - Throws: ``SecurityKeyError``; ``SecurityKeyError/Code/pinRequired`` when a PIN is needed.
    func loadResidentKeys(
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError)
        -> [SecurityKeyResidentKey]
}

extension SecurityKeyProvider {
    /// A check every provider applies to what its authenticator answered.
    package static func checkedEnrollment(
        _ enrollment: SecurityKeyEnrollment
    ) throws(SecurityKeyError)
        -> SecurityKeyEnrollment
    {
        let algorithm = enrollment.algorithm
        guard enrollment.publicKey.count == algorithm.publicKeySize else {
            throw SecurityKeyError(
                .invalidResponse,
                "the authenticator answered a public key of \(enrollment.publicKey.count) bytes, not \(algorithm.publicKeySize)"
            )
        }
        if algorithm == .ecdsaP256 {
            do {
                _ = try ECDSAKey(curve: .p256, publicPoint: enrollment.publicKey)
            } catch {
                throw SecurityKeyError(.invalidResponse, "the authenticator answered an invalid P-256 public key")
            }
        }
        guard !enrollment.keyHandle.isEmpty else {
            throw SecurityKeyError(.invalidResponse, "the authenticator answered no key handle")
        }
        return enrollment
    }

    /// The check every provider applies to a signature's shape.
    package static func checkedSignature(
        _ signature: SecurityKeySignature
    ) throws(SecurityKeyError)
        -> SecurityKeySignature
    {
        switch signature.value {
        case .ed25519(let bytes):
            guard bytes.count == 64 else {
                throw SecurityKeyError(
                    .invalidResponse,
                    "the authenticator answered an Ed25519 signature of \(bytes.count) bytes, not 64"
                )
            }
        case .ecdsa(let r, let s):
            guard (1...33).contains(r.count), (1...33).contains(s.count) else {
                throw SecurityKeyError(
                    .invalidResponse,
                    "the authenticator answered an ECDSA signature of the wrong size"
                )
            }
        }
        return signature
    }
}
