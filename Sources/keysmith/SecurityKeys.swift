import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

#if canImport(Glibc)
import Glibc
#endif

/// `-w` / `--provider`: the security key provider, as ssh-keygen's `-w` and `SSH_SK_PROVIDER`.
struct SecurityKeyProviderOption: ParsableArguments {
    @Option(
        name: [.customShort("w", allowingJoined: true), .customLong("provider")],
        help: ArgumentHelp(
            "Security key provider: an OpenSSH FIDO middleware library (default: SSH_SK_PROVIDER, else libfido2).",
            valueName: "path"
        )
    )
    var provider: String?

    /// The provider named by `--provider`, else by `SSH_SK_PROVIDER`, else libfido2 (also for
    /// the name `internal`, ssh-keygen's built-in middleware).
    func resolve() throws -> any SecurityKeyProvider {
        do {
            return try SecurityKeySigning.provider(path: self.provider ?? environmentValue("SSH_SK_PROVIDER"))
        } catch {
            throw Failure(error.message)
        }
    }
}

/// An environment variable's value, nil when unset.
private func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

extension SSHKeyType {
    /// The security key algorithm of an sk key type.
    var securityKeyAlgorithm: SecurityKeyAlgorithm? { SecurityKeySigning.algorithm(of: self) }
}

/// Runs `operation` with no PIN first (or with one asked first), then asks for the
/// authenticator's PIN when it wants one, three attempts in all as ssh-keygen's enrolment
/// loop ("PIN incorrect" after a wrong one, then "too many incorrect PINs").
func withSecurityKeyPIN<T>(
    prompt: String,
    askFirst: Bool = false,
    _ operation: (SecureBytes?) throws(SecurityKeyError) -> T
) throws -> T {
    var pin: SecureBytes? = nil
    if askFirst { pin = try askPIN(prompt) }
    var attempts = 0
    while true {
        do {
            return try operation(pin)
        } catch  where error.code == .pinRequired {
            if pin != nil { printError("PIN incorrect") }
            attempts += 1
            guard attempts < 3 else { throw Failure("too many incorrect PINs") }
            pin = try askPIN(prompt)
        } catch {
            throw Failure(error.message)
        }
    }
}

private func askPIN(_ prompt: String) throws -> SecureBytes {
    guard let pin = try askSecret(prompt: prompt) else {
        throw Failure("the security key wants its PIN and there is no terminal to ask for it")
    }
    return pin
}

/// A signer for `key`: in memory for a software key, through `provider` for a security key
/// (asking for the PIN and saying when to touch it, as ssh-keygen's sign_one does).
func keySigner(
    for key: SSHPrivateKey,
    provider option: SecurityKeyProviderOption
) throws -> SSHKeySigner {
    guard key.securityKey != nil else { return SSHKeySigner(key) }
    let provider = try option.resolve()
    let verify = key.securityKey?.flags.contains(.userVerificationRequired) ?? false
    let prompt = "Enter PIN for \(key.type.displayName) key: "
    let signer = SecurityKeySigning.signer(
        for: key,
        provider: { () throws(SecurityKeyError) in provider },
        notice: { printError($0) },
        withPIN: { attempt in
            do {
                return try withSecurityKeyPIN(prompt: prompt, askFirst: verify, attempt)
            } catch let error as Failure {
                throw SecurityKeyError(.failed, error.message)
            }
        }
    )
    return signer ?? SSHKeySigner(key)
}

/// ssh-keygen's `-O` options for enrolling a security key (`ssh-keygen -t ed25519-sk -O ...`).
struct SecurityKeyEnrollmentOptions {
    var application = "ssh:"
    var flags: SecurityKeyFlags = [.userPresenceRequired]
    var options = SecurityKeyOptions()
    var challengePath: String?
    var attestationPath: String?

    /// Parses the options as ssh-keygen does (names matched case-insensitively).
    /// - Throws: `ValidationError` with ssh-keygen's sentence for an option it refuses.
    init(_ arguments: [String]) throws {
        for option in arguments {
            let lower = option.lowercased()
            func value(_ prefix: String) -> String? {
                lower.hasPrefix(prefix) ? String(option.dropFirst(prefix.count)) : nil
            }
            if lower == "no-touch-required" {
                self.flags.remove(.userPresenceRequired)
            } else if lower == "verify-required" {
                self.flags.insert(.userVerificationRequired)
            } else if lower == "resident" {
                self.flags.insert(.residentKey)
            } else if let device = value("device=") {
                self.options.device = device
            } else if let user = value("user=") {
                self.options.user = user
            } else if let path = value("challenge=") {
                self.challengePath = path
            } else if let path = value("write-attestation=") {
                self.attestationPath = path
            } else if let application = value("application=") {
                guard application.hasPrefix("ssh:") else {
                    throw ValidationError("FIDO application string must begin with \"ssh:\".")
                }
                self.application = application
            } else {
                throw ValidationError("Option \"\(option)\" is unsupported for FIDO authenticator enrollment.")
            }
        }
    }

    /// The enrolment challenge: the file's bytes, or 32 random bytes (sshsk_enroll).
    func challenge() throws -> [UInt8] {
        guard let path = self.challengePath else { return SecureRandom.bytes(32) }
        let bytes: [UInt8]
        do { bytes = try KeyFileIO.readFile(expandTilde(path)) } catch {
            throw Failure("unable to load FIDO enrollment challenge \"\(path)\": \(error.message)")
        }
        guard !bytes.isEmpty else { throw Failure("missing enrollment challenge: \(path) is empty") }
        return bytes
    }

    /// Enrols a new key of `type` through `provider`, asking for the authenticator's PIN when it wants one.
    func enroll(
        _ type: SSHKeyType,
        provider: any SecurityKeyProvider,
        comment: String
    ) throws -> (SSHPrivateKey, SecurityKeyEnrollment) {
        guard let algorithm = type.securityKeyAlgorithm else {
            throw Failure("\(type.sshName) is not a security key type")
        }
        let challenge = try self.challenge()
        let enrollment = try withSecurityKeyPIN(prompt: "Enter PIN for authenticator: ") {
            (pin) throws(SecurityKeyError) in
            try provider.enroll(
                algorithm: algorithm,
                application: self.application,
                challenge: challenge,
                flags: self.flags,
                pin: pin,
                options: self.options
            )
        }
        return (try self.key(type, from: enrollment, comment: comment), enrollment)
    }

    /// The private key of an enrolment: sshsk_key_from_response, the key keeping the flags
    /// the authenticator answered.
    func key(
        _ type: SSHKeyType,
        from enrollment: SecurityKeyEnrollment,
        comment: String
    ) throws(SSHKeyError) -> SSHPrivateKey {
        let credential = SecurityKeyCredential(
            application: Array(self.application.utf8),
            flags: SecurityKeyCredential.Flags(rawValue: enrollment.flags.rawValue),
            keyHandle: SecureBytes(enrollment.keyHandle)
        )
        return try SSHPrivateKey(
            securityKey: type,
            publicKey: enrollment.publicKey,
            credential: credential,
            comment: comment
        )
    }
}

extension SecurityKeyEnrollment {
    /// The attestation as ssh-keygen's `-O write-attestation=` saves it (ssh-sk.c
    /// fill_attestation_blob): string "ssh-sk-attest-v01", string certificate, string
    /// signature, string authenticator data, uint32 reserved flags, string reserved.
    var attestationBlob: [UInt8] {
        var w = SSHWireWriter()
        w.writeString("ssh-sk-attest-v01")
        w.writeString(self.attestationCertificate)
        w.writeString(self.attestationSignature)
        w.writeString(self.authenticatorData)
        w.writeUInt32(0)
        w.writeString([UInt8]())
        return w.bytes
    }
}
