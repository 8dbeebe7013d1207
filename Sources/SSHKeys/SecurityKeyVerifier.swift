package import SSHCrypto

/// Checks security key signatures (PROTOCOL.u2f) as ssh-ed25519-sk.c and ssh-ecdsa-sk.c do,
/// given the key's raw public bytes and its application string.
///
/// The authenticator does not sign the message itself but
///
///     byte[32]  SHA-256(application)
///     byte      flags
///     uint32    counter
///     byte[]    extensions      (WebAuthn only, as they are)
///     byte[32]  SHA-256(message) (WebAuthn: SHA-256(clientData))
///
/// Ed25519 signs those bytes; ECDSA signs their SHA-256.
package enum SecurityKeyVerifier {
    /// `sk-ssh-ed25519@openssh.com`.
    package static let ed25519Algorithm = "sk-ssh-ed25519@openssh.com"
    /// `sk-ecdsa-sha2-nistp256@openssh.com`.
    package static let ecdsaAlgorithm = "sk-ecdsa-sha2-nistp256@openssh.com"
    /// `webauthn-sk-ecdsa-sha2-nistp256@openssh.com`, a signature algorithm of ECDSA security keys.
    package static let webAuthnAlgorithm = SSHSignature.webAuthnAlgorithm

    /// The authenticator's fields when `signature` is a valid `sk-ssh-ed25519@openssh.com`
    /// signature of `data` by the key `publicKey` (32 bytes) for `application`; nil otherwise.
    package static func verifyEd25519(
        publicKey: some Collection<UInt8>,
        application: some Collection<UInt8>,
        signature: SSHSignature,
        data: some Collection<UInt8>
    ) -> SSHSignature.SecurityKeyFields? {
        // ssh_ed25519_sk_verify: the name must be the key's own, and crypto_sign_ed25519_open
        // needs a whole 64-byte signature.
        guard signature.algorithm == Self.ed25519Algorithm, let fields = signature.securityKey,
            fields.webAuthn == nil, signature.rawSignature.count == Ed25519.signatureSize
        else { return nil }
        let signed = Self.signedData(
            application: application,
            fields: fields,
            extensions: [],
            messageHash: Digest.hash(.sha256, data)
        )
        guard Ed25519.verify(publicKey: publicKey, signature: signature.rawSignature, message: signed) else {
            return nil
        }
        return fields
    }

    /// The authenticator's fields when `signature` is a valid `sk-ecdsa-sha2-nistp256@openssh.com`
    /// or `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` signature of `data` by the NIST P-256
    /// key `publicPoint` (uncompressed, on the curve) for `application`; nil otherwise.
    package static func verifyECDSA(
        publicPoint: some Collection<UInt8>,
        application: some Collection<UInt8>,
        signature: SSHSignature,
        data: some Collection<UInt8>
    ) -> SSHSignature.SecurityKeyFields? {
        guard let key = try? ECDSAKey(curve: .p256, publicPoint: publicPoint) else { return nil }
        return Self.verifyECDSA(key: key, application: application, signature: signature, data: data)
    }

    /// As ``verifyECDSA(publicPoint:application:signature:data:)`` with a decoded P-256 key.
    package static func verifyECDSA(
        key: ECDSAKey,
        application: some Collection<UInt8>,
        signature: SSHSignature,
        data: some Collection<UInt8>
    ) -> SSHSignature.SecurityKeyFields? {
        guard key.curve == .p256, let fields = signature.securityKey else { return nil }
        let messageHash: [UInt8]
        let extensions: [UInt8]
        switch signature.algorithm {
        case Self.ecdsaAlgorithm:
            guard fields.webAuthn == nil else { return nil }
            messageHash = Digest.hash(.sha256, data)
            extensions = []
        case Self.webAuthnAlgorithm:
            guard let webAuthn = fields.webAuthn,
                let hash = Self.webAuthnMessageHash(challenge: data, flags: fields.flags, webAuthn: webAuthn)
            else { return nil }
            messageHash = hash
            extensions = webAuthn.extensions
        default:
            return nil
        }
        // RFC 5656 §3.1.2: mpint r, mpint s, nothing after.
        var r = SSHWireReader(signature.rawSignature)
        guard let sigR = try? r.readPositiveMPInt(), let sigS = try? r.readPositiveMPInt(), r.isAtEnd else {
            return nil
        }
        let signed = Self.signedData(
            application: application,
            fields: fields,
            extensions: extensions,
            messageHash: messageHash
        )
        guard key.verify(r: sigR, s: sigS, for: signed) else { return nil }
        return fields
    }

    /// SHA-256(application) ‖ flags ‖ counter ‖ extensions ‖ messageHash.
    package static func signedData(
        application: some Collection<UInt8>,
        fields: SSHSignature.SecurityKeyFields,
        extensions: [UInt8],
        messageHash: [UInt8]
    ) -> [UInt8] {
        var w = SSHWireWriter()
        w.writeBytes(Digest.hash(.sha256, application))
        w.writeByte(fields.flags)
        w.writeUInt32(fields.counter)
        w.writeBytes(extensions)
        w.writeBytes(messageHash)
        return w.bytes
    }

    /// ssh-ecdsa-sk.c `webauthn_check_prepare_hash`: SHA-256 of the clientData when it begins
    /// `{"type":"webauthn.get","challenge":"<base64url(challenge)>","origin":"<origin>"`, the
    /// origin holds no quote, the attested-data flag is clear and the extension-data flag is set
    /// exactly when extensions are present; nil otherwise. Fields after the origin are ignored.
    package static func webAuthnMessageHash(
        challenge: some Collection<UInt8>,
        flags: UInt8,
        webAuthn: SSHSignature.SecurityKeyFields.WebAuthn
    ) -> [UInt8]? {
        guard !webAuthn.origin.utf8.contains(UInt8(ascii: "\"")), flags & 0x40 == 0,
            (flags & 0x80 == 0) == webAuthn.extensions.isEmpty
        else { return nil }
        let preamble = Self.webAuthnClientDataPreamble(challenge: challenge, origin: webAuthn.origin)
        guard webAuthn.clientData.starts(with: preamble) else { return nil }
        return Digest.hash(.sha256, webAuthn.clientData)
    }

    /// The start of the clientData a WebAuthn signature of `challenge` must have.
    package static func webAuthnClientDataPreamble(challenge: some Collection<UInt8>, origin: String) -> [UInt8] {
        // sshbuf_dtourlb64: base64 without padding, '+' as '-', '/' as '_'.
        var challengeText: [UInt8] = Array(Base64.encode(challenge).utf8)
        while challengeText.last == UInt8(ascii: "=") { challengeText.removeLast() }
        for i in challengeText.indices {
            if challengeText[i] == UInt8(ascii: "+") {
                challengeText[i] = UInt8(ascii: "-")
            } else if challengeText[i] == UInt8(ascii: "/") {
                challengeText[i] = UInt8(ascii: "_")
            }
        }
        return Array("{\"type\":\"webauthn.get\",\"challenge\":\"".utf8) + challengeText
            + Array("\",\"origin\":\"".utf8) + Array(origin.utf8) + [UInt8(ascii: "\"")]
    }
}

/// What a security key signature must assert, as sshd requires it in auth2-pubkey.c: user
/// presence unless the authorized_keys line has `no-touch-required`, user verification when it
/// has `verify-required`.
///
/// SSHSIG (`ssh-keygen -Y verify`, `check-novalidate`) applies no such policy: its allowed_signers
/// options do not include these, and a valid signature verifies whatever its flags.
public struct SecurityKeyPolicy: Sendable, Hashable {
    /// Whether the user presence flag must be set.
    public var requiresUserPresence: Bool
    /// Whether the user verification flag must be set.
    public var requiresUserVerification: Bool

    /// sshd's default: presence required, verification not.
    public init(requiresUserPresence: Bool = true, requiresUserVerification: Bool = false) {
        self.requiresUserPresence = requiresUserPresence
        self.requiresUserVerification = requiresUserVerification
    }

    /// The policy of an authorized_keys line's `touch-required` and `verify-required` options.
    public init(_ options: AuthorizedKeyOptions) {
        self.init(
            requiresUserPresence: options.requiresUserPresence,
            requiresUserVerification: options.requiresUserVerification
        )
    }

    /// Checks what a valid security key signature asserted.
    /// - Throws: `SSHKeyError` `.notAllowed` with one sentence when a required flag is missing.
    public func check(_ fields: SSHSignature.SecurityKeyFields) throws(SSHKeyError) {
        if self.requiresUserPresence && !fields.isUserPresent {
            throw SSHKeyError(
                .notAllowed,
                "the security key signature lacks user presence (the key was not touched) and the key is not marked no-touch-required"
            )
        }
        if self.requiresUserVerification && !fields.isUserVerified {
            throw SSHKeyError(
                .notAllowed,
                "the security key signature lacks user verification (no PIN or biometric check) that verify-required demands"
            )
        }
    }
}
