import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a key between OpenSSH, RFC 4716, PEM and PKCS#8 (ssh-keygen -e / -i / -p -m).",
        discussion: """
            A public key (or a private key with --public) is printed on standard output \
            in the new format: openssh as ssh-keygen -i, rfc4716 / pem / pkcs8 as \
            ssh-keygen -e -m. A private key is rewritten in place in the new format \
            (openssh, pem or pkcs8) with the same passphrase, atomically; --to rfc4716 \
            on a private key prints its public key.
            """
    )

    enum Target: String, ExpressibleByArgument, CaseIterable {
        case openssh, rfc4716, pem, pkcs8
    }

    @Option(name: .customShort("f", allowingJoined: true), help: ArgumentHelp("Key file.", valueName: "file"))
    var file: String

    @Option(help: "Target format: openssh, rfc4716, pem or pkcs8.")
    var to: Target

    @Flag(help: "Print the public key even when FILE is a private key.")
    var `public` = false

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Passphrase of the private key.", valueName: "passphrase")
    )
    var passphrase: String?

    @OptionGroup var encryption: EncryptionOptions

    func run() throws {
        try reportingFailures {
            let path = expandTilde(self.file)
            let contents = try KeyFileIO.readFile(path)
            let kind = KeyFileKind(contents: contents)
            let isPrivate = kind == .openSSHPrivateKey || kind == .pemPrivateKey
            if isPrivate && !self.public && self.to != .rfc4716 {
                if self.to != .openssh, let key = SSHPublicKey.fromPrivateKeyFile(contents) {
                    try self.refuseSecurityKeyExport(key, path: path)
                }
                try self.rewritePrivate(path: path)
                return
            }
            let key: SSHPublicKey
            var comment: String? = nil
            if isPrivate {
                if let pub = try? KeyFileIO.readFile(path + ".pub"),
                    let line = try? SSHPublicKey.keys(inFile: pub).first
                {
                    key = line.key
                } else if let k = SSHPublicKey.fromPrivateKeyFile(contents) {
                    key = k
                } else {
                    key = try loadPrivateKey(path: path, passphrase: self.passphrase).0.publicKey
                }
            } else {
                guard let first = try? SSHPublicKey.keys(inFile: contents).first else {
                    throw Failure("\(path) is not a key file")
                }
                key = first.key
                comment = first.comment
            }
            _ = comment
            switch self.to {
            case .openssh:
                writeOut(key.openSSHLine() + "\n")
            case .rfc4716:
                let label = "\(key.bits)-bit \(key.type.displayName), converted by \(defaultComment()) from OpenSSH"
                writeOut(key.rfc4716Representation(comment: label))
            case .pem, .pkcs8:
                try self.refuseSecurityKeyExport(key, path: path)
                guard key.type != .ed25519 else {
                    throw Failure(
                        "\(path): Ed25519 public keys have no \(self.to == .pem ? "PEM" : "PKCS#8") export in OpenSSH; use openssh or rfc4716"
                    )
                }
                writeOut(self.to == .pem ? try key.pemRepresentation() : try key.pkcs8Representation())
            }
        }
    }

    /// ssh-keygen has no PEM or PKCS#8 form for a security key, public or private
    /// (do_convert_to_pem: "unsupported key type ED25519-SK").
    private func refuseSecurityKeyExport(_ key: SSHPublicKey, path: String) throws {
        guard key.type.isSecurityKey else { return }
        throw Failure(
            "\(path): unsupported key type \(key.type.displayName): security keys have no \(self.to == .pem ? "PEM" : "PKCS#8") form in OpenSSH; use openssh or rfc4716"
        )
    }

    private func rewritePrivate(path: String) throws {
        let (key, passphrase) = try loadPrivateKey(path: path, passphrase: self.passphrase)
        let format: PrivateKeyFileFormat =
            switch self.to {
            case .pem: .pem
            case .pkcs8: .pkcs8
            default: .openSSH
            }
        if key.type == .ed25519 && format == .pem {
            throw Failure("\(path): Ed25519 keys have no PEM (PKCS#1/SEC1) form; use --to pkcs8 or --to openssh")
        }
        try rewritePrivateKey(key, path: path, format: format, passphrase: passphrase, encryption: self.encryption)
        printError("\(path) has been rewritten in the \(self.to.rawValue) format.")
    }
}
