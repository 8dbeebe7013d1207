import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct MatchPrincipals: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match-principals",
        abstract:
            "Print the allowed_signers lines' principals that match an identity (ssh-keygen -Y match-principals).",
        discussion: """
            Prints, one per line, the principals field (as written, patterns included) of every \
            allowed_signers line whose principals match IDENTITY, as ssh-keygen -Y \
            match-principals does; no signature and no key is checked. Prints 'No principal \
            matched.' on standard error and exits 1 when no line matches, or when a line that \
            matches is malformed (named on standard error).
            """
    )

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("allowed_signers file.", valueName: "allowed_signers")
    )
    var allowedSigners: String

    @Option(
        name: .customShort("I", allowingJoined: true),
        help: ArgumentHelp("Identity (principal) to look for.", valueName: "identity")
    )
    var identity: String

    func run() throws {
        let found: [String]
        do {
            found = try AllowedSigners(path: expandTilde(self.allowedSigners)).matchPrincipals(self.identity)
        } catch {
            if error.code != .notAllowed { printError("keysmith: \(sentence(error.message))") }
            printError("No principal matched.")
            throw ExitCode(1)
        }
        writeOut(found.map { $0 + "\n" }.joined())
    }
}
