import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

/// `keysmith sk`: the keys a FIDO security key keeps itself.
struct SecurityKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sk",
        abstract: "Work with the keys kept on a FIDO security key (ssh-keygen -K).",
        subcommands: [SecurityKeyDownload.self]
    )
}

extension SecurityKeyCommand: CommandGroup {}

/// `keysmith sk download`: ssh-keygen -K.
struct SecurityKeyDownload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Save the resident keys of a security key as key files (ssh-keygen -K).",
        discussion: """
            Reads the resident keys (made with generate -O resident) from the authenticator \
            through the provider of -w, else SSH_SK_PROVIDER, else libfido2, asking for its \
            PIN when it wants one, and saves each SSH key (its application starts with ssh:) \
            in the current directory under ssh-keygen -K's names: id_ed25519_sk_rk or \
            id_ecdsa_sk_rk, then _APPLICATION (without ssh:) when the application is not \
            ssh: alone, then _USER when the key was made with -O user=. Each file holds the \
            key handle, not the private key: signing still needs the authenticator. The \
            public key goes to FILE.pub; both take the application as their comment. An \
            existing file is never replaced without --force, and then none is written. An \
            authenticator holding no SSH key is not an error ("No keys to download").
            """
    )

    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp("device=PATH: the authenticator to read, as ssh-keygen -O device=.", valueName: "option")
    )
    var keyOptions: [String] = []

    @Option(
        name: .customShort("N", allowingJoined: true),
        help: ArgumentHelp("Passphrase for the key files ('' for none).", valueName: "passphrase")
    )
    var passphrase: String?

    @OptionGroup var encryption: EncryptionOptions

    @OptionGroup var securityKey: SecurityKeyProviderOption

    @Flag(help: "Replace existing key files.")
    var force = false

    @Flag(name: .customShort("q"), help: "Print nothing on success.")
    var quiet = false

    /// The options of -O: `device=` alone (names without case), as ssh-keygen -K.
    static func options(_ arguments: [String]) throws -> SecurityKeyOptions {
        var options = SecurityKeyOptions()
        for option in arguments {
            guard option.lowercased().hasPrefix("device=") else {
                throw ValidationError("Option \"\(option)\" is unsupported for FIDO authenticator download.")
            }
            options.device = String(option.dropFirst(7))
        }
        return options
    }

    func validate() throws {
        _ = try Self.options(self.keyOptions)
    }

    func run() throws {
        let options = try Self.options(self.keyOptions)
        try reportingFailures {
            let provider = try self.securityKey.resolve()
            if !self.quiet { printError("You may need to touch your authenticator to authorize key download.") }
            let resident = try withSecurityKeyPIN(prompt: "Enter PIN for authenticator: ") {
                (pin) throws(SecurityKeyError) in
                try provider.loadResidentKeys(pin: pin, options: options)
            }
            let keys = try DownloadedResidentKey.keys(resident)
            if keys.isEmpty {
                if !self.quiet { printError("No keys to download") }
                return
            }
            if !self.force {
                for path in keys.flatMap({ [$0.fileName, $0.fileName + ".pub"] }) where KeyFileIO.fileExists(path) {
                    throw Failure("\(path) already exists; use --force to replace it")
                }
            }
            let passphrase = try askNewPassphrase(option: self.passphrase, optionName: "-N")
            for downloaded in keys {
                let key = downloaded.key
                let contents = try withProgress("deriving the key from the passphrase") {
                    try key.fileRepresentation(
                        format: .openSSH,
                        passphrase: passphrase,
                        options: self.encryption.fileOptions
                    )
                }
                try writeKeyPair(
                    privatePath: downloaded.fileName,
                    privateContents: contents,
                    publicFile: key.publicKey.publicKeyFileContents(comment: key.comment),
                    overwrite: self.force
                )
                if !self.quiet {
                    // The application is the authenticator's text: escaped before it reaches the terminal.
                    let application = downloaded.suffix.isEmpty ? "" : " " + escapePeerText(key.comment)
                    writeOut("Saved \(key.type.displayName) key\(application) to \(downloaded.fileName)\n")
                }
            }
        }
    }
}
