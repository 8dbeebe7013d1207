public import SSHCrypto
public import SSHKeys
public import SecurityKey

/// Security keys as keysmith's commands use them: which provider drives the
/// authenticator, and the ``SSHKeySigner`` of a security-key private key, which signs on
/// the authenticator (PROTOCOL.u2f).
public enum SecurityKeySigning {
    /// The provider library ssh would use (ssh.c, readconf.c): `SecurityKeyProvider` from
    /// `-o` or ssh_config, else `$SSH_SK_PROVIDER`; a value `$NAME` is the environment
    /// variable NAME, and one that is unset leaves no library (keysmith then uses libfido2).
    ///
    /// - Parameters:
    ///   - configured: `SecurityKeyProvider` as written, nil when not set.
    ///   - environment: looks up an environment variable.
    public static func providerPath(configured: String?, environment: (String) -> String?) -> String? {
        let value = configured ?? "$SSH_SK_PROVIDER"
        guard value.hasPrefix("$"), value.count > 1 else { return value }
        return environment(String(value.dropFirst()))
    }

    /// The provider of the library at `path` (`~/` expanded); libfido2 for none, an empty
    /// path, `none` or `internal` (ssh-keygen's built-in middleware). A static keysmith, which
    /// cannot load either, runs them in `keysmith-sk-helper` (`HelperProvider`).
    /// - Throws: what `MiddlewareProvider` throws for a library it cannot load.
    public static func provider(path: String?) throws(SecurityKeyError) -> any SecurityKeyProvider {
        let library: String? =
            if let path, !path.isEmpty, path != "internal", path.lowercased() != "none" { expandTilde(path) } else {
                nil
            }
        if HelperProvider.isWanted { return HelperProvider(provider: library) }
        guard let library else { return FIDO2Provider() }
        return try MiddlewareProvider(path: library)
    }

    /// The security key algorithm of an sk key type.
    public static func algorithm(of type: SSHKeyType) -> SecurityKeyAlgorithm? {
        switch type {
        case .skEd25519: .ed25519
        case .skECDSA: .ecdsaP256
        default: nil
        }
    }

    /// Runs one signing attempt with the PIN given (nil: none yet); it throws
    /// `.pinRequired` when the authenticator wants one.
    public typealias Attempt = (_ pin: SecureBytes?) throws(SecurityKeyError) -> SecurityKeySignature

    /// A signer for the security key `key` (`key.securityKey` set): each signature is made
    /// by `provider` on the authenticator, through `withPIN`, which runs the attempt and
    /// asks for the PIN and runs it again as its caller's rules say; `notice` is told
    /// "Confirm user presence for key TYPE FINGERPRINT" before each attempt of a key that
    /// wants a touch, as sshconnect2.c's identity_sign prints it.
    ///
    /// - Parameters:
    ///   - provider: the provider, made when the first signature is wanted.
    ///   - withPIN: runs the attempt; what it throws becomes the signer's error.
    /// - Returns: nil when `key` is no security key.
    public static func signer(
        for key: SSHPrivateKey,
        provider: @escaping @Sendable () throws(SecurityKeyError) -> any SecurityKeyProvider,
        notice: @escaping @Sendable (String) -> Void,
        withPIN: @escaping @Sendable (_ attempt: Attempt) throws -> SecurityKeySignature
    ) -> SSHKeySigner? {
        guard let credential = key.securityKey, let algorithm = Self.algorithm(of: key.type) else { return nil }
        let type = key.type
        let publicKey = key.publicKey
        return SSHKeySigner(publicKey: publicKey) { (data) throws(SSHKeyError) -> SSHSignature in
            let answer: SecurityKeySignature
            do {
                let chosen = try provider()
                answer = try withPIN { (pin) throws(SecurityKeyError) in
                    if credential.flags.contains(.userPresenceRequired) {
                        notice("Confirm user presence for key \(type.displayName) \(publicKey.fingerprint())")
                    }
                    return try credential.keyHandle.withUnsafeBytes { (handle) throws(SecurityKeyError) in
                        try chosen.sign(
                            algorithm: algorithm,
                            message: data,
                            application: credential.applicationString,
                            keyHandle: Array(handle),
                            flags: SecurityKeyFlags(rawValue: credential.flags.rawValue),
                            pin: pin,
                            options: SecurityKeyOptions()
                        )
                    }
                }
            } catch let error as SecurityKeyError {
                throw SSHKeyError(.cryptoFailure, "the security key did not sign: \(error.message)")
            } catch let error as SSHConnectError {
                throw SSHKeyError(.cryptoFailure, "the security key did not sign: \(error.message)")
            } catch {
                throw SSHKeyError(.cryptoFailure, "the security key did not sign: \(error)")
            }
            // PROTOCOL.u2f: string signature (Ed25519's 64 bytes, or mpint r, mpint s), then flags and counter.
            var w = SSHWireWriter()
            switch answer.value {
            case .ed25519(let bytes): w.writeBytes(bytes)
            case .ecdsa(let r, let s):
                w.writeMPInt(r)
                w.writeMPInt(s)
            }
            return SSHSignature(
                algorithm: type.sshName,
                rawSignature: w.bytes,
                securityKey: .init(flags: answer.flags, counter: answer.counter)
            )
        }
    }

    /// The signer ssh's client uses for the identity `label` (sshconnect2.c identity_sign):
    /// the first attempt without a PIN and, when the authenticator wants one,
    /// "Enter PIN for TYPE key LABEL: " asked once through `prompter` (never in batch mode).
    public static func loginSigner(
        label: String,
        key: SSHPrivateKey,
        providerPath: String?,
        batch: Bool,
        prompter: any Prompter,
        events: ConnectionEvents
    ) -> SSHKeySigner? {
        let prompt = "Enter PIN for \(key.type.displayName) key \(label): "
        return Self.signer(
            for: key,
            provider: { () throws(SecurityKeyError) in try Self.provider(path: providerPath) },
            notice: events.diagnostic,
            withPIN: { attempt in
                try Self.signAskingPINOnce(attempt) {
                    batch ? nil : prompter.askSecret(prompt, reportingFailureTo: events.diagnostic)
                }
            }
        )
    }

    /// sshconnect2.c identity_sign: without a PIN, then once with the PIN `askPIN` gives
    /// when the authenticator wants one.
    private static func signAskingPINOnce(
        _ attempt: Attempt,
        askPIN: () -> SecureBytes?
    ) throws(SecurityKeyError) -> SecurityKeySignature {
        let first: SecurityKeyError
        do throws(SecurityKeyError) {
            return try attempt(nil)
        } catch {
            first = error
        }
        guard first.code == .pinRequired, let pin = askPIN() else { throw first }
        return try attempt(pin)
    }
}
