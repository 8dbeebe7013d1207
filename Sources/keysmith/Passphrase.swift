import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct Passphrase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passphrase",
        abstract: "Change or remove a private key's passphrase (ssh-keygen -p).",
        discussion: """
            The key is written back in the OpenSSH format unless -m says otherwise, \
            as ssh-keygen does, through a temporary file and a rename.
            """
    )

    @Option(name: .customShort("f", allowingJoined: true), help: ArgumentHelp("Private key file.", valueName: "file"))
    var file: String

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Old passphrase.", valueName: "passphrase")
    )
    var oldPassphrase: String?

    @Option(
        name: .customShort("N", allowingJoined: true),
        help: ArgumentHelp("New passphrase ('' for none).", valueName: "passphrase")
    )
    var newPassphrase: String?

    @Option(
        name: .customShort("m", allowingJoined: true),
        help: ArgumentHelp("Format to write: openssh (default), pem or pkcs8.", valueName: "format")
    )
    var format: PrivateKeyFileFormat = .openSSH

    @OptionGroup var ed25519PKCS8: Ed25519PKCS8Option

    @OptionGroup var encryption: EncryptionOptions

    func run() throws {
        try reportingFailures {
            let path = expandTilde(self.file)
            let (key, _) = try loadPrivateKey(path: path, passphrase: self.oldPassphrase)
            let passphrase = try askNewPassphrase(option: self.newPassphrase, optionName: "-N")
            try rewritePrivateKey(
                key,
                path: path,
                format: self.format.effective(for: key.type, ed25519PKCS8: self.ed25519PKCS8.enabled),
                passphrase: passphrase,
                encryption: self.encryption
            )
            writeOut("Your identification has been saved with the new passphrase.\n")
        }
    }
}
