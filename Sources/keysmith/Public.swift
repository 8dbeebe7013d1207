import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct Public: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public",
        abstract: "Print the public key of a private key file (ssh-keygen -y)."
    )

    @Option(name: .customShort("f", allowingJoined: true), help: ArgumentHelp("Private key file.", valueName: "file"))
    var file: String

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Passphrase of the private key.", valueName: "passphrase")
    )
    var passphrase: String?

    func run() throws {
        try reportingFailures {
            let path = expandTilde(self.file)
            let (key, _) = try loadPrivateKey(path: path, passphrase: self.passphrase)
            writeOut(key.publicKey.openSSHLine(comment: key.comment) + "\n")
        }
    }
}
