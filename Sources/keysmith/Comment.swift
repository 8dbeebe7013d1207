import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct Comment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comment",
        abstract: "Change the comment of an OpenSSH-format private key (ssh-keygen -c).",
        discussion: "Rewrites the private key with the same passphrase and the public key file FILE.pub."
    )

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Private key file (OpenSSH format).", valueName: "file")
    )
    var file: String

    @Option(name: .customShort("C", allowingJoined: true), help: ArgumentHelp("New comment.", valueName: "comment"))
    var comment: String

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Passphrase of the private key.", valueName: "passphrase")
    )
    var passphrase: String?

    @OptionGroup var encryption: EncryptionOptions

    func validate() throws { try validateComment(self.comment) }

    func run() throws {
        try reportingFailures {
            let path = expandTilde(self.file)
            let contents = try KeyFileIO.readPrivateKeyFile(path)
            guard KeyFileKind(contents: contents) == .openSSHPrivateKey else {
                throw Failure(
                    "\(path): comments are only supported for keys in the OpenSSH format; convert it with `keysmith passphrase -f \(path)` first"
                )
            }
            var (key, passphrase) = try loadPrivateKey(path: path, passphrase: self.passphrase)
            let old = key.comment
            key.comment = self.comment
            let updated = try withProgress("deriving the key from the passphrase") {
                try key.fileRepresentation(
                    format: .openSSH,
                    passphrase: passphrase,
                    options: self.encryption.fileOptions
                )
            }
            try writeKeyPair(
                privatePath: path,
                privateContents: updated,
                publicFile: key.publicKey.publicKeyFileContents(comment: key.comment),
                overwrite: true
            )
            writeOut(old.isEmpty ? "No existing comment\n" : "Old comment: \(old)\n")
            writeOut(self.comment.isEmpty ? "Comment removed\n" : "Comment '\(self.comment)' applied\n")
        }
    }
}
