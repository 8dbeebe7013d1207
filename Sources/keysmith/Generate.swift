import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a new key pair (ssh-keygen -t).",
        discussion: """
            Writes the private key to FILE (mode 0600) and the public key to FILE.pub \
            (mode 0644), each through a temporary file and a rename. An existing file \
            is never replaced without --force. Without -N the passphrase is asked for \
            twice on the terminal; -N '' means no passphrase. A security key \
            (-t ed25519-sk or ecdsa-sk) is made on the authenticator through the provider \
            of -w, else SSH_SK_PROVIDER, else libfido2, with ssh-keygen's -O options \
            (application=, resident, verify-required, no-touch-required, user=, device=, \
            challenge=, write-attestation=); its PIN is asked for when it wants one.
            """
    )

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Key type: ed25519, rsa, ecdsa, ed25519-sk or ecdsa-sk.", valueName: "type")
    )
    var type: String = "ed25519"

    @Option(
        name: .customShort("b", allowingJoined: true),
        help: ArgumentHelp("Key size: RSA 1024-16384 (default 3072); ECDSA 256, 384 or 521.", valueName: "bits")
    )
    var bits: Int?

    @Option(
        name: .customShort("C", allowingJoined: true),
        help: ArgumentHelp("Comment (default user@host).", valueName: "comment")
    )
    var comment: String?

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Private key file (default ~/.ssh/id_TYPE).", valueName: "file")
    )
    var file: String?

    @Option(
        name: .customShort("N", allowingJoined: true),
        help: ArgumentHelp("New passphrase ('' for none).", valueName: "passphrase")
    )
    var passphrase: String?

    @Option(
        name: .customShort("m", allowingJoined: true),
        help: ArgumentHelp("Private key format: openssh (default), pem or pkcs8.", valueName: "format")
    )
    var format: PrivateKeyFileFormat = .openSSH

    @OptionGroup var ed25519PKCS8: Ed25519PKCS8Option

    @OptionGroup var encryption: EncryptionOptions

    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp("Security key option, as ssh-keygen -O (application=, resident, ...).", valueName: "option")
    )
    var keyOptions: [String] = []

    @OptionGroup var securityKey: SecurityKeyProviderOption

    func validate() throws {
        try validateComment(self.comment)
        let (keyType, _) = try SSHKeyType.fromArguments(type: self.type, bits: self.bits)
        if keyType.isSecurityKey {
            _ = try SecurityKeyEnrollmentOptions(self.keyOptions)
        } else if !self.keyOptions.isEmpty {
            throw ValidationError("-O options are for security keys (-t ed25519-sk or ecdsa-sk).")
        }
    }

    @Flag(help: "Replace an existing key file.")
    var force = false

    @Flag(name: .customShort("q"), help: "Print nothing on success.")
    var quiet = false

    func run() throws {
        let (keyType, rsaBits) = try SSHKeyType.fromArguments(type: self.type, bits: self.bits)
        try reportingFailures {
            let path: String
            if let file = self.file {
                path = expandTilde(file)
            } else {
                let dir = sshDirectory()
                try KeyFileIO.ensureDirectory(dir, mode: 0o700)
                path = dir + "/" + keyType.defaultFileName
            }
            if !self.force {
                for p in [path, path + ".pub"] where KeyFileIO.fileExists(p) {
                    throw Failure("\(p) already exists; use --force to replace it")
                }
            }
            if !self.quiet {
                printError("Generating public/private \(keyType.displayName.lowercased()) key pair.")
            }
            let key: SSHPrivateKey
            let passphrase: SecureBytes
            var attestation: (path: String, blob: [UInt8])? = nil
            if keyType.isSecurityKey {
                // ssh-keygen enrols first, then asks for the file's passphrase.
                let enrollment = try SecurityKeyEnrollmentOptions(self.keyOptions)
                let provider = try self.securityKey.resolve()
                if !self.quiet { printError("You may need to touch your authenticator to authorize key generation.") }
                let (made, answer) = try enrollment.enroll(
                    keyType,
                    provider: provider,
                    comment: self.comment ?? defaultComment()
                )
                key = made
                if let path = enrollment.attestationPath { attestation = (expandTilde(path), answer.attestationBlob) }
                passphrase = try askNewPassphrase(option: self.passphrase, optionName: "-N")
            } else {
                passphrase = try askNewPassphrase(option: self.passphrase, optionName: "-N")
                key = try withProgress("generating the key") {
                    try SSHPrivateKey(generating: keyType, rsaBits: rsaBits, comment: self.comment ?? defaultComment())
                }
            }
            let contents = try withProgress("deriving the key from the passphrase") {
                try key.fileRepresentation(
                    format: self.format.effective(for: keyType, ed25519PKCS8: self.ed25519PKCS8.enabled),
                    passphrase: passphrase,
                    options: self.encryption.fileOptions
                )
            }
            try writeKeyPair(
                privatePath: path,
                privateContents: contents,
                publicFile: key.publicKey.publicKeyFileContents(comment: key.comment),
                overwrite: self.force
            )
            if !self.quiet {
                let fp = key.publicKey.fingerprint()
                writeOut(
                    """
                    Your identification has been saved in \(path)
                    Your public key has been saved in \(path).pub
                    The key fingerprint is:
                    \(fp) \(key.comment)
                    The key's randomart image is:
                    \(fp.randomArt(title: "\(keyType.displayName) \(key.publicKey.bits)"))

                    """
                )
            }
            if let attestation {
                // ssh-keygen's save_attestation, after the key is saved.
                try KeyFileIO.writeAtomically(
                    path: attestation.path,
                    contents: attestation.blob,
                    mode: 0o644,
                    overwrite: true
                )
                if !self.quiet { writeOut("Your FIDO attestation certificate has been saved in \(attestation.path)\n") }
            }
        }
    }
}
