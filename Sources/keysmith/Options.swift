public import ArgumentParser
import CommandLineText
import SSHCrypto
public import SSHKeys

extension SSHKeyType {
    /// Parses `-t`: ed25519, rsa, ecdsa, ed25519-sk, ecdsa-sk (or their wire names), with `-b`
    /// for RSA and ECDSA sizes.
    static func fromArguments(type: String, bits: Int?) throws -> (SSHKeyType, rsaBits: Int) {
        switch type.lowercased() {
        case "ed25519", "ssh-ed25519":
            return (.ed25519, SSHPrivateKey.defaultRSABits)
        case "rsa", "ssh-rsa":
            let b = bits ?? SSHPrivateKey.defaultRSABits
            guard (1024...16384).contains(b) else {
                throw ValidationError("RSA keys must be between 1024 and 16384 bits, not \(b).")
            }
            return (.rsa, b)
        case "ecdsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            let fromName: Int? =
                type.hasSuffix("256") ? 256 : type.hasSuffix("384") ? 384 : type.hasSuffix("521") ? 521 : nil
            switch bits ?? fromName ?? 256 {
            case 256: return (.ecdsa(.p256), 0)
            case 384: return (.ecdsa(.p384), 0)
            case 521: return (.ecdsa(.p521), 0)
            default: throw ValidationError("ECDSA keys must be 256, 384 or 521 bits.")
            }
        case "ed25519-sk", "sk-ssh-ed25519@openssh.com":
            return (.skEd25519, 0)
        case "ecdsa-sk", "sk-ecdsa-sha2-nistp256@openssh.com":
            return (.skECDSA, 0)
        default:
            throw ValidationError("Unknown key type '\(type)'; use ed25519, rsa, ecdsa, ed25519-sk or ecdsa-sk.")
        }
    }

    /// The default file name under ~/.ssh, as ssh-keygen's.
    var defaultFileName: String {
        switch self {
        case .ed25519: "id_ed25519"
        case .rsa: "id_rsa"
        case .ecdsa: "id_ecdsa"
        case .skEd25519: "id_ed25519_sk"
        case .skECDSA: "id_ecdsa_sk"
        case .dsa: "id_dsa"
        case .certificate(let plain): plain.defaultFileName + "-cert"
        }
    }
}

/// `-m`: the private key file format.
extension PrivateKeyFileFormat: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "openssh", "rfc4716": self = .openSSH
        case "pem": self = .pem
        case "pkcs8": self = .pkcs8
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["openssh", "pem", "pkcs8"] }

    /// The format ssh-keygen actually writes for `type`: PKCS#1/SEC1 have no Ed25519
    /// form, and ssh-keygen (before 10.3) writes Ed25519 keys in the OpenSSH format for
    /// `-m pem` and `-m pkcs8` alike; security keys are written in it whatever `-m` says
    /// (sshkey_private_to_fileblob). `ed25519PKCS8` asks for PKCS#8 for Ed25519 anyway.
    func effective(for type: SSHKeyType, ed25519PKCS8: Bool = false) -> PrivateKeyFileFormat {
        if type.isSecurityKey { return .openSSH }
        guard type == .ed25519 else { return self }
        return self == .pkcs8 && ed25519PKCS8 ? .pkcs8 : .openSSH
    }
}

/// `--ed25519-pkcs8`: the one way to write an Ed25519 private key as PKCS#8.
struct Ed25519PKCS8Option: ParsableArguments {
    @Flag(
        name: .customLong("ed25519-pkcs8"),
        help: ArgumentHelp(
            "With -m pkcs8, write an Ed25519 key as PKCS#8 instead of the OpenSSH format.",
            discussion: """
                ssh-keygen writes Ed25519 keys in the OpenSSH format whatever -m says (PEM has no \
                Ed25519 form). OpenSSH reads Ed25519 keys in PKCS#8 from release 9.6 and writes \
                them from 10.3; ssh, ssh-add and ssh-keygen 9.5 and earlier cannot load them. \
                OpenSSL and most other libraries read them.
                """
        )
    )
    var enabled = false
}

/// `-Z` and `-a`: how openssh-key-v1 files are encrypted.
struct EncryptionOptions: ParsableArguments {
    @Option(
        name: .customShort("a", allowingJoined: true),
        help: ArgumentHelp(
            "bcrypt_pbkdf rounds for the OpenSSH format, 1 to \(PasswordKDFLimits.maximumBcryptRounds) (default 24).",
            valueName: "rounds"
        )
    )
    var rounds: Int = OpenSSHKeyFileOptions.defaultRounds

    @Option(
        name: .customShort("Z", allowingJoined: true),
        help: ArgumentHelp(
            "Cipher for the OpenSSH format (default aes256-ctr).",
            discussion: "One of: \(CipherAlgorithm.allCases.map(\.sshName).joined(separator: ", ")).",
            valueName: "cipher"
        )
    )
    var cipher: String = OpenSSHKeyFileOptions.defaultCipher.sshName

    func validate() throws {
        guard CipherAlgorithm(sshName: self.cipher) != nil else {
            throw ValidationError(
                "Unknown cipher '\(self.cipher)'; use one of \(CipherAlgorithm.allCases.map(\.sshName).joined(separator: ", "))."
            )
        }
        guard self.rounds >= 1 && self.rounds <= PasswordKDFLimits.maximumBcryptRounds else {
            throw ValidationError("Rounds must be between 1 and \(PasswordKDFLimits.maximumBcryptRounds).")
        }
    }

    var fileOptions: OpenSSHKeyFileOptions {
        OpenSSHKeyFileOptions(
            cipher: CipherAlgorithm(sshName: self.cipher) ?? OpenSSHKeyFileOptions.defaultCipher,
            rounds: self.rounds
        )
    }
}

/// The private key file that signs for `-f path`, as ssh-keygen's load_sign_key finds it:
/// a path ending in `-cert.pub` or else `.pub` (and longer than that ending) names the
/// private key beside it, so a certificate or public key can be given in its place.
/// - Throws: `Failure` when `path` names a public key and there is no private key beside it.
func signingKeyPath(_ path: String) throws -> String {
    for suffix in ["-cert.pub", ".pub"] where path.count > suffix.count && path.hasSuffix(suffix) {
        let privatePath = String(path.dropLast(suffix.count))
        guard KeyFileIO.fileExists(privatePath) else {
            throw Failure("no private key found for the public key \(path): \(privatePath) does not exist")
        }
        return privatePath
    }
    return path
}

/// ssh-keygen's load_sign_key for `-f KEY-cert.pub`: the signer signs with the private key
/// beside it and presents the certificate, so an SSHSIG signature carries the certificate
/// (ssh-keygen -Y check-novalidate then names an `…-CERT` key). `given` is the path as
/// named on the command line; any other file (the private key, `KEY.pub`) leaves `signer`
/// as it is.
func signerPresentingCertificate(_ signer: SSHKeySigner, given: String) throws -> SSHKeySigner {
    guard given.hasSuffix("-cert.pub"), let (key, _) = loadPublicKeyLikeSSHAdd(given),
        let certificate = key.certificate
    else { return signer }
    guard certificate.key == signer.publicKey else {
        throw Failure("the certificate \(given) does not certify the key beside it")
    }
    return SSHKeySigner(publicKey: key) { (data) throws(SSHKeyError) in try signer.sign(data) }
}

/// Loads a private key file, asking for its passphrase only when it is encrypted.
func loadPrivateKey(
    path: String,
    passphrase option: String?,
    optionName: String = "-P"
) throws -> (SSHPrivateKey, SecureBytes?) {
    var contents = try KeyFileIO.readPrivateKeyFile(path)
    // The file's bytes are the key when it is not encrypted; zero them once it is decoded.
    defer { secureWipe(&contents) }
    if !SSHPrivateKey.isEncrypted(fileContents: contents) {
        do {
            return (try SSHPrivateKey(fileContents: contents, passphrase: nil), nil)
        } catch  where error.code != .passphraseRequired {
            throw Failure("\(path): \(error.message)")
        } catch {
            // Fall through: the format hid its encryption; ask for the passphrase.
        }
    }
    let passphrase = try askExistingPassphrase(option: option, optionName: optionName, file: path)
    do {
        let key = try withProgress("deriving the key from the passphrase") { () throws(SSHKeyError) in
            try SSHPrivateKey(fileContents: contents, passphrase: passphrase)
        }
        return (key, passphrase)
    } catch {
        switch error.code {
        case .wrongPassphrase, .passphraseRequired:
            throw Failure("\(path): incorrect passphrase")
        default:
            throw Failure("\(path): \(error.message)")
        }
    }
}

/// Rewrites an existing private key file in place: mode 0600, through a temporary file and a rename.
func rewritePrivateKey(
    _ key: SSHPrivateKey,
    path: String,
    format: PrivateKeyFileFormat,
    passphrase: SecureBytes?,
    encryption: EncryptionOptions
) throws {
    let contents = try withProgress("deriving the key from the passphrase") {
        try key.fileRepresentation(format: format, passphrase: passphrase, options: encryption.fileOptions)
    }
    try KeyFileIO.writeAtomically(path: path, contents: contents, mode: 0o600, overwrite: true)
}

/// Writes a private key file (0600) and, if given, its public key file (0644), each atomically.
func writeKeyPair(privatePath: String, privateContents: SecureBytes, publicFile: String?, overwrite: Bool) throws {
    try KeyFileIO.writeAtomically(path: privatePath, contents: privateContents, mode: 0o600, overwrite: overwrite)
    if let publicFile {
        try KeyFileIO.writeAtomically(
            path: privatePath + ".pub",
            contents: Array(publicFile.utf8),
            mode: 0o644,
            overwrite: true
        )
    }
}
