import ArgumentParser
import SSHConnect
import SSHCrypto
import SSHKeys

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a new key pair (ssh-keygen -t).",
        discussion: """
            Writes the private key to FILE (mode 0600) and the public key to FILE.pub \
            (mode 0644), each through a temporary file and a rename. An existing file \
            is never replaced without --force. Without -N the passphrase is asked for \
            twice on the terminal; -N '' means no passphrase.
            """
    )

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp("Key type: ed25519, rsa or ecdsa.", valueName: "type")
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

    @OptionGroup var encryption: EncryptionOptions

    func validate() throws { try validateComment(self.comment) }

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
            let passphrase = try askNewPassphrase(option: self.passphrase, optionName: "-N")
            let key = try withProgress("generating the key") {
                try SSHPrivateKey(generating: keyType, rsaBits: rsaBits, comment: self.comment ?? defaultComment())
            }
            let contents = try withProgress("deriving the key from the passphrase") {
                try key.fileRepresentation(
                    format: self.format.effective(for: keyType),
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
            guard !self.quiet else { return }
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
    }
}
