import ArgumentParser
import SSHKeys

struct CheckNoValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-novalidate",
        abstract: "Check an SSH signature of standard input without trusting its key (ssh-keygen -Y check-novalidate).",
        discussion: """
            Proves only that the signature is sound for the namespace and the message; it \
            says nothing about who signed. Prints 'Good "NAMESPACE" signature with TYPE key \
            FINGERPRINT' and exits 0, or 'Could not verify signature.' and exits 1.
            """
    )

    @Option(
        name: .customShort("n", allowingJoined: true),
        help: ArgumentHelp("Signature namespace.", valueName: "namespace")
    )
    var namespace: String

    @Option(
        name: .customShort("s", allowingJoined: true),
        help: ArgumentHelp("Signature file.", valueName: "signature")
    )
    var signatureFile: String

    @OptionGroup var options: VerifyOptions

    func validate() throws {
        guard !self.namespace.isEmpty else { throw ValidationError("The namespace (-n) must not be empty.") }
        _ = try self.options.parsed()
    }

    func run() throws {
        try runVerification(
            signatureFile: self.signatureFile,
            namespace: self.namespace,
            identity: nil,
            allowedSigners: nil,
            options: self.options
        )
    }
}
