import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct FindPrincipals: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find-principals",
        abstract: "Print the principals allowed to have made a signature (ssh-keygen -Y find-principals).",
        discussion: """
            Prints, one per line, the principals of the first allowed_signers line whose key \
            made the signature and that is valid now (or at -O verify-time=); for a \
            signature made with a certificate, the certificate's principals that the \
            patterns of the first cert-authority line holding its CA key match. The signature \
            itself is not checked. Prints 'No principal matched.' on standard error and exits 1 \
            when no line matches.
            """
    )

    @Option(
        name: .customShort("s", allowingJoined: true),
        help: ArgumentHelp("Signature file.", valueName: "signature")
    )
    var signatureFile: String

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("allowed_signers file.", valueName: "allowed_signers")
    )
    var allowedSigners: String

    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp("verify-time=YYYYMMDD[HHMM[SS]][Z] to check validity at that time.", valueName: "option")
    )
    var options: [String] = []

    private var verifyOptions: VerifyOptions {
        var o = VerifyOptions()
        o.options = self.options
        return o
    }

    func validate() throws { _ = try self.verifyOptions.parsed(allowPrintPublicKey: false) }

    func run() throws {
        let time = try self.verifyOptions.parsed(allowPrintPublicKey: false).time
        let principals: [String]
        do {
            let sig = try readSignatureFile(self.signatureFile)
            let signers = try AllowedSigners(path: expandTilde(self.allowedSigners))
            principals = try signers.principals(for: sig.publicKey, time: time)
        } catch {
            // As ssh-keygen: the reason (a refused or malformed line), then "No principal matched.".
            switch error {
            case let error as SSHKeyError: printError("keysmith: \(sentence(error.message))")
            case let error as Failure: printError("keysmith: \(sentence(error.message))")
            default: throw error
            }
            printError("No principal matched.")
            throw ExitCode(1)
        }
        writeOut(principals.map { $0 + "\n" }.joined())
    }
}
