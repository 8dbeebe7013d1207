internal import CFIDO2
public import SSHCrypto

/// A FIDO2 security key on this machine, driven through libfido2 directly (what
/// OpenSSH's built-in `internal` provider, sk-usbhid.c, does).
///
/// libfido2 (`libfido2.so.1`, Debian's libfido2-1) is loaded at the first call, not linked:
/// without it every call fails with ``SecurityKeyError/Code/providerUnavailable``.
///
/// The authenticator is the one `options.device` names (a path such as `/dev/hidraw0`),
/// or else the first that libfido2's `fido_dev_info_manifest` lists: with several plugged
/// in, name one. Each call opens the device and closes it again.
public struct FIDO2Provider: SecurityKeyProvider {
    /// The most authenticators looked at.
    private static let maximumDevices = 64

    public init() {}

    public func enroll(
        algorithm: SecurityKeyAlgorithm,
        application: String,
        challenge: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment {
        guard !challenge.isEmpty else { throw SecurityKeyError(.failed, "the enrolment challenge is empty") }
        // sk-usbhid.c: the user ID is the user name, zero-padded to 32 bytes.
        var userID = [UInt8](repeating: 0, count: 32)
        if let user = options.user {
            let bytes = Array(user.utf8)
            guard bytes.count <= userID.count else {
                throw SecurityKeyError(.failed, "the user name is longer than 32 bytes")
            }
            userID.replaceSubrange(0..<bytes.count, with: bytes)
        }
        let fido = try FIDO2Library.shared()
        let cPIN = try pin.map { pin throws(SecurityKeyError) in try PINString(pin) }
        return try Self.withDevice(options.device) { device throws(SecurityKeyError) in
            let credential = try FIDOCredential(fido)
            // The raw pointer below is used after the object's last use: keep it alive.
            defer { withExtendedLifetime(credential) {} }
            let cred = credential.pointer
            try Self.check(fido.fido_cred_set_type(cred, algorithm.coseAlgorithm), "set the key type")
            let challengeHash = Digest.hash(.sha256, challenge)
            try Self.check(
                challengeHash.withUnsafeBufferPointer {
                    fido.fido_cred_set_clientdata_hash(cred, $0.baseAddress, $0.count)
                },
                "set the challenge"
            )
            try Self.check(
                fido.fido_cred_set_rk(cred, flags.contains(.residentKey) ? FIDO_OPT_TRUE : FIDO_OPT_OMIT),
                "ask for a resident key"
            )
            try Self.check(
                userID.withUnsafeBufferPointer {
                    fido.fido_cred_set_user(cred, $0.baseAddress, $0.count, "openssh", "openssh", nil)
                },
                "set the user"
            )
            try Self.check(fido.fido_cred_set_rp(cred, application, nil), "set the application")
            // sk-usbhid.c: a resident or verify-required key is made with credProt, so that
            // the authenticator itself refuses to use it without what the flags promise.
            if !flags.isDisjoint(with: [.residentKey, .userVerificationRequired]) {
                guard fido.fido_dev_supports_cred_prot(device) else {
                    throw SecurityKeyError(
                        .unsupported,
                        "the authenticator cannot protect a resident or verify-required key (no credProt)"
                    )
                }
                let protection =
                    flags.contains(.userVerificationRequired)
                    ? FIDO_CRED_PROT_UV_REQUIRED : FIDO_CRED_PROT_UV_OPTIONAL_WITH_ID
                try Self.check(fido.fido_cred_set_prot(cred, Int32(protection)), "set the key's protection")
            }
            let made =
                cPIN.map { pin in pin.withCString { fido.fido_dev_make_cred(device, cred, $0) } }
                ?? fido.fido_dev_make_cred(device, cred, nil)
            try Self.check(made, "make a key")
            // An attestation with a certificate is checked against it, a self-attestation
            // against the new key, as sk-usbhid.c does.
            let verified =
                fido.fido_cred_x5c_ptr(cred) != nil ? fido.fido_cred_verify(cred) : fido.fido_cred_verify_self(cred)
            try Self.check(verified, "check the key's attestation")
            var publicKey = Self.bytes(fido.fido_cred_pubkey_ptr(cred), fido.fido_cred_pubkey_len(cred))
            // libfido2 gives ES256 keys as X || Y; SSH and the middleware API use the
            // uncompressed point.
            if algorithm == .ecdsaP256 { publicKey.insert(0x04, at: 0) }
            return try Self.checkedEnrollment(
                SecurityKeyEnrollment(
                    algorithm: algorithm,
                    publicKey: publicKey,
                    keyHandle: Self.bytes(fido.fido_cred_id_ptr(cred), fido.fido_cred_id_len(cred)),
                    flags: flags,
                    attestationSignature: Self.bytes(fido.fido_cred_sig_ptr(cred), fido.fido_cred_sig_len(cred)),
                    attestationCertificate: Self.bytes(fido.fido_cred_x5c_ptr(cred), fido.fido_cred_x5c_len(cred)),
                    authenticatorData: Self.bytes(fido.fido_cred_authdata_ptr(cred), fido.fido_cred_authdata_len(cred))
                )
            )
        }
    }

    public func sign(
        algorithm: SecurityKeyAlgorithm,
        message: [UInt8],
        application: String,
        keyHandle: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeySignature {
        let fido = try FIDO2Library.shared()
        let cPIN = try pin.map { pin throws(SecurityKeyError) in try PINString(pin) }
        // sk-usbhid.c: the token holding the key is looked for only when neither a PIN nor
        // verification is involved (a PIN could be sent to the wrong token).
        let probe =
            cPIN == nil && !flags.contains(.userVerificationRequired)
            ? (application: application, keyHandle: keyHandle) : nil
        return try Self.withDevice(options.device, holding: probe) { device throws(SecurityKeyError) in
            let assertion = try FIDOAssertion(fido)
            defer { withExtendedLifetime(assertion) {} }
            let assert = assertion.pointer
            // The middleware API's message: the authenticator signs its SHA-256 as the
            // client data hash (PROTOCOL.u2f).
            let messageHash = Digest.hash(.sha256, message)
            try Self.check(
                messageHash.withUnsafeBufferPointer {
                    fido.fido_assert_set_clientdata_hash(assert, $0.baseAddress, $0.count)
                },
                "set the message"
            )
            try Self.check(fido.fido_assert_set_rp(assert, application), "set the application")
            try Self.check(
                keyHandle.withUnsafeBufferPointer { fido.fido_assert_allow_cred(assert, $0.baseAddress, $0.count) },
                "set the key handle"
            )
            try Self.check(
                fido.fido_assert_set_up(
                    assert,
                    flags.contains(.userPresenceRequired) ? FIDO_OPT_TRUE : FIDO_OPT_FALSE
                ),
                "ask for a touch"
            )
            if cPIN == nil, flags.contains(.userVerificationRequired) {
                // Without a PIN only an authenticator that verifies the user itself
                // (a fingerprint) can sign such a key.
                guard fido.fido_dev_has_uv(device) else {
                    throw SecurityKeyError(.pinRequired, "the security key needs its PIN to sign")
                }
                try Self.check(fido.fido_assert_set_uv(assert, FIDO_OPT_TRUE), "ask for user verification")
            }
            let got =
                cPIN.map { pin in pin.withCString { fido.fido_dev_get_assert(device, assert, $0) } }
                ?? fido.fido_dev_get_assert(device, assert, nil)
            try Self.check(got, "sign")
            guard fido.fido_assert_count(assert) >= 1 else {
                throw SecurityKeyError(.invalidResponse, "the authenticator answered no signature")
            }
            let signature = Self.bytes(fido.fido_assert_sig_ptr(assert, 0), fido.fido_assert_sig_len(assert, 0))
            let value: SecurityKeySignature.Value
            switch algorithm {
            case .ed25519:
                value = .ed25519(signature)
            case .ecdsaP256:
                do {
                    let (r, s) = try ECDSAKey.signatureComponents(der: signature)
                    value = .ecdsa(r: r, s: s)
                } catch {
                    throw SecurityKeyError(
                        .invalidResponse,
                        "the authenticator answered an ECDSA signature that is not DER"
                    )
                }
            }
            return try Self.checkedSignature(
                SecurityKeySignature(
                    value: value,
                    flags: fido.fido_assert_flags(assert, 0),
                    counter: fido.fido_assert_sigcount(assert, 0)
                )
            )
        }
    }

    public func loadResidentKeys(
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError)
        -> [SecurityKeyResidentKey]
    {
        // Credential management always wants the PIN.
        guard let pin else {
            throw SecurityKeyError(.pinRequired, "the security key needs its PIN to list resident keys")
        }
        let fido = try FIDO2Library.shared()
        let cPIN = try PINString(pin)
        return try Self.withDevice(options.device) { device throws(SecurityKeyError) in
            let parties = try FIDOCredmanParties(fido)
            defer { withExtendedLifetime(parties) {} }
            let listed = cPIN.withCString { fido.fido_credman_get_dev_rp(device, parties.pointer, $0) }
            // An authenticator without credential management holds no resident keys we can list.
            if listed == FIDO_ERR_INVALID_COMMAND { return [] }
            try Self.check(listed, "list resident keys")
            var result: [SecurityKeyResidentKey] = []
            for partyIndex in 0..<fido.fido_credman_rp_count(parties.pointer) {
                guard let id = fido.fido_credman_rp_id(parties.pointer, partyIndex) else { continue }
                let application = String(cString: id)
                let keys = try FIDOCredmanKeys(fido)
                defer { withExtendedLifetime(keys) {} }
                try Self.check(
                    cPIN.withCString { fido.fido_credman_get_dev_rk(device, id, keys.pointer, $0) },
                    "list resident keys"
                )
                for keyIndex in 0..<fido.fido_credman_rk_count(keys.pointer) {
                    guard let cred = fido.fido_credman_rk(keys.pointer, keyIndex) else { continue }
                    let algorithm: SecurityKeyAlgorithm
                    switch fido.fido_cred_type(cred) {
                    case COSE_ES256: algorithm = .ecdsaP256
                    case COSE_EDDSA: algorithm = .ed25519
                    default: continue
                    }
                    var publicKey = Self.bytes(fido.fido_cred_pubkey_ptr(cred), fido.fido_cred_pubkey_len(cred))
                    if algorithm == .ecdsaP256 { publicKey.insert(0x04, at: 0) }
                    var flags: SecurityKeyFlags = [.userPresenceRequired, .residentKey]
                    if fido.fido_cred_prot(cred) == FIDO_CRED_PROT_UV_REQUIRED {
                        flags.insert(.userVerificationRequired)
                    }
                    let enrollment = try Self.checkedEnrollment(
                        SecurityKeyEnrollment(
                            algorithm: algorithm,
                            publicKey: publicKey,
                            keyHandle: Self.bytes(fido.fido_cred_id_ptr(cred), fido.fido_cred_id_len(cred)),
                            flags: flags
                        )
                    )
                    result.append(
                        SecurityKeyResidentKey(
                            application: application,
                            enrollment: enrollment,
                            userID: Self.bytes(fido.fido_cred_user_id_ptr(cred), fido.fido_cred_user_id_len(cred)),
                            slot: result.count
                        )
                    )
                }
            }
            return result
        }
    }

    // MARK: - Devices and errors

    /// The paths of the authenticators libfido2 finds.
    ///
    /// - Throws: ``SecurityKeyError/Code/deviceNotFound`` when there is none,
    ///   ``SecurityKeyError/Code/providerUnavailable`` when libfido2 is not installed.
    public static func devicePaths() throws(SecurityKeyError) -> [String] {
        let fido = try FIDO2Library.shared()
        guard let list = fido.fido_dev_info_new(Self.maximumDevices) else {
            throw SecurityKeyError(.failed, "cannot list FIDO authenticators: out of memory")
        }
        var listHandle: OpaquePointer? = list
        defer { fido.fido_dev_info_free(&listHandle, Self.maximumDevices) }
        var found = 0
        let status = fido.fido_dev_info_manifest(list, Self.maximumDevices, &found)
        guard status == FIDO_OK else {
            throw SecurityKeyError(.deviceNotFound, "no FIDO authenticator found (\(Self.reason(status)))")
        }
        let paths = (0..<found).compactMap { index in
            fido.fido_dev_info_ptr(list, index).flatMap(fido.fido_dev_info_path).map { String(cString: $0) }
        }
        guard !paths.isEmpty else { throw SecurityKeyError(.deviceNotFound, "no FIDO authenticator found") }
        return paths
    }

    /// Runs `body` with an authenticator open: the one at `pathOrNil`; else, when a
    /// `credential` is given and several are plugged in, the one that holds it; else the
    /// first one found.
    private static func withDevice<R>(
        _ pathOrNil: String?,
        holding credential: (application: String, keyHandle: [UInt8])? = nil,
        _ body: (OpaquePointer) throws(SecurityKeyError) -> R
    ) throws(SecurityKeyError) -> R {
        let fido = try FIDO2Library.shared()
        if let named = pathOrNil { return try FIDODevice(fido, path: named).use(body) }
        let paths = try Self.devicePaths()
        guard let credential, paths.count > 1 else { return try FIDODevice(fido, path: paths[0]).use(body) }
        for path in paths {
            guard let device = try? FIDODevice(fido, path: path) else { continue }
            if Self.holds(fido, device.pointer, application: credential.application, keyHandle: credential.keyHandle) {
                return try device.use(body)
            }
        }
        throw SecurityKeyError(.deviceNotFound, "none of the \(paths.count) FIDO authenticators found holds this key")
    }

    /// Whether `device` holds the key of `keyHandle`: an assertion that asks for no touch
    /// succeeds, or fails only for want of one (as sk-usbhid.c's sk_try decides).
    private static func holds(
        _ fido: keysmith_fido2,
        _ device: OpaquePointer,
        application: String,
        keyHandle: [UInt8]
    ) -> Bool {
        guard let assertion = try? FIDOAssertion(fido) else { return false }
        defer { withExtendedLifetime(assertion) {} }
        let assert = assertion.pointer
        let zeros = [UInt8](repeating: 0, count: 32)
        guard
            zeros.withUnsafeBufferPointer({ fido.fido_assert_set_clientdata_hash(assert, $0.baseAddress, $0.count) })
                == FIDO_OK,
            fido.fido_assert_set_rp(assert, application) == FIDO_OK,
            keyHandle.withUnsafeBufferPointer({ fido.fido_assert_allow_cred(assert, $0.baseAddress, $0.count) })
                == FIDO_OK,
            fido.fido_assert_set_up(assert, FIDO_OPT_FALSE) == FIDO_OK
        else { return false }
        let status = fido.fido_dev_get_assert(device, assert, nil)
        return status == FIDO_OK || status == FIDO_ERR_USER_PRESENCE_REQUIRED
    }

    /// Turns a libfido2 status into our error, as sk-usbhid.c's fidoerr_to_skerr sorts them.
    private static func check(_ status: Int32, _ operation: String) throws(SecurityKeyError) {
        switch status {
        case FIDO_OK:
            return
        case FIDO_ERR_UNSUPPORTED_OPTION, FIDO_ERR_UNSUPPORTED_ALGORITHM:
            throw SecurityKeyError(.unsupported, "the authenticator cannot \(operation): \(Self.reason(status))")
        case FIDO_ERR_PIN_REQUIRED, FIDO_ERR_PIN_INVALID, FIDO_ERR_OPERATION_DENIED:
            throw SecurityKeyError(.pinRequired, "the security key needs its PIN to \(operation)")
        case FIDO_ERR_CREDENTIAL_EXCLUDED:
            throw SecurityKeyError(
                .credentialExists,
                "the authenticator already holds a resident key for this application and user"
            )
        case FIDO_ERR_NO_CREDENTIALS:
            throw SecurityKeyError(.failed, "the authenticator does not hold this key")
        default:
            throw SecurityKeyError(.failed, "the authenticator could not \(operation): \(Self.reason(status))")
        }
    }

    /// libfido2's text for `status` (only ever asked once libfido2 is loaded).
    private static func reason(_ status: Int32) -> String {
        (try? FIDO2Library.shared())?.fido_strerr(status).map { String(cString: $0) } ?? "error \(status)"
    }

    private static func bytes(_ pointer: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}

extension SecurityKeyAlgorithm {
    /// The COSE algorithm identifier libfido2 takes.
    fileprivate var coseAlgorithm: Int32 {
        switch self {
        case .ecdsaP256: COSE_ES256
        case .ed25519: COSE_EDDSA
        }
    }
}

/// Owns one open `fido_dev_t`; closes and frees it.
private final class FIDODevice {
    let pointer: OpaquePointer
    private let fido: keysmith_fido2

    /// Opens the authenticator at `path`.
    ///
    /// - Throws: ``SecurityKeyError/Code/deviceNotFound`` when it cannot be opened.
    init(_ fido: keysmith_fido2, path: String) throws(SecurityKeyError) {
        guard let pointer = fido.fido_dev_new() else {
            throw SecurityKeyError(.failed, "cannot open the FIDO authenticator \(path): out of memory")
        }
        let opened = fido.fido_dev_open(pointer, path)
        guard opened == FIDO_OK else {
            var handle: OpaquePointer? = pointer
            fido.fido_dev_free(&handle)
            let reason = fido.fido_strerr(opened).map { String(cString: $0) } ?? "error \(opened)"
            throw SecurityKeyError(.deviceNotFound, "cannot open the FIDO authenticator \(path): \(reason)")
        }
        self.pointer = pointer
        self.fido = fido
    }

    /// Runs `body` with the open device; it stays open until `body` returns.
    func use<R>(_ body: (OpaquePointer) throws(SecurityKeyError) -> R) throws(SecurityKeyError) -> R {
        try body(self.pointer)
    }

    deinit {
        _ = self.fido.fido_dev_close(self.pointer)
        var handle: OpaquePointer? = self.pointer
        self.fido.fido_dev_free(&handle)
    }
}

/// Owns one `fido_cred_t`.
private final class FIDOCredential {
    let pointer: OpaquePointer
    private let fido: keysmith_fido2
    init(_ fido: keysmith_fido2) throws(SecurityKeyError) {
        guard let pointer = fido.fido_cred_new() else { throw SecurityKeyError(.failed, "out of memory") }
        self.pointer = pointer
        self.fido = fido
    }
    deinit {
        var pointer: OpaquePointer? = self.pointer
        self.fido.fido_cred_free(&pointer)
    }
}

/// Owns one `fido_assert_t`.
private final class FIDOAssertion {
    let pointer: OpaquePointer
    private let fido: keysmith_fido2
    init(_ fido: keysmith_fido2) throws(SecurityKeyError) {
        guard let pointer = fido.fido_assert_new() else { throw SecurityKeyError(.failed, "out of memory") }
        self.pointer = pointer
        self.fido = fido
    }
    deinit {
        var pointer: OpaquePointer? = self.pointer
        self.fido.fido_assert_free(&pointer)
    }
}

/// Owns one `fido_credman_rp_t`.
private final class FIDOCredmanParties {
    let pointer: OpaquePointer
    private let fido: keysmith_fido2
    init(_ fido: keysmith_fido2) throws(SecurityKeyError) {
        guard let pointer = fido.fido_credman_rp_new() else { throw SecurityKeyError(.failed, "out of memory") }
        self.pointer = pointer
        self.fido = fido
    }
    deinit {
        var pointer: OpaquePointer? = self.pointer
        self.fido.fido_credman_rp_free(&pointer)
    }
}

/// Owns one `fido_credman_rk_t`.
private final class FIDOCredmanKeys {
    let pointer: OpaquePointer
    private let fido: keysmith_fido2
    init(_ fido: keysmith_fido2) throws(SecurityKeyError) {
        guard let pointer = fido.fido_credman_rk_new() else { throw SecurityKeyError(.failed, "out of memory") }
        self.pointer = pointer
        self.fido = fido
    }
    deinit {
        var pointer: OpaquePointer? = self.pointer
        self.fido.fido_credman_rk_free(&pointer)
    }
}
