import ArgumentParser
import KeyDeploy
import SSHKeys
import SSHProtocol

struct RemoveID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-id",
        abstract: "Remove public keys from remote authorized_keys files.",
        discussion: """
            Removes exactly the lines that carry the key (compared by key blob, whatever their \
            options or comment); every other line stays byte for byte. The file is replaced \
            atomically, and only if nobody changed it meanwhile.
            """
    )

    @Option(
        name: .customShort("i"),
        help: ArgumentHelp(
            "Public key file whose keys to remove; default: the newest ~/.ssh/id*.pub.",
            valueName: "file"
        )
    )
    var identity: String?

    @Flag(name: .customShort("n"), help: "Dry run: show which lines would be removed, change nothing.")
    var dryRun = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let keys: [SSHPublicKey]
        do {
            keys = try keysToDeploy(identity: self.identity).keys.map(\.key)
        } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        var reports: [String] = []
        try self.connection.forEachDestination { destination, config, client in
            let result =
                if self.connection.sftp {
                    try withSFTP(client) {
                        try SFTPKeyDeploy.remove(
                            keys: keys,
                            target: self.connection.target,
                            dryRun: self.dryRun,
                            over: $0
                        )
                    }
                } else {
                    try KeyDeploy.remove(keys: keys, target: self.connection.target, dryRun: self.dryRun, over: client)
                }
            if self.connection.json {
                let removed = result.removed.map { "{\"line\":\($0.line),\"text\":\(jsonString($0.text))}" }
                let missing = result.notFound.map { jsonString($0.fingerprint().description) }
                reports.append(
                    "{\"destination\":\(jsonString(destination)),\"dryRun\":\(self.dryRun),\"removed\":[\(removed.joined(separator: ","))],\"notFound\":[\(missing.joined(separator: ","))]}"
                )
                return
            }
            for key in result.notFound {
                printError(
                    "keysmith: INFO: \(key.type.displayName) \(key.fingerprint()) is not installed on \(destination)"
                )
            }
            if self.dryRun {
                writeOut("Would have removed the following line(s) of \(self.connection.target):\n")
                writeOut(result.removed.map { "\($0.line): \($0.text)\n" }.joined())
                return
            }
            writeOut("Number of key(s) removed from \(destination): \(result.removed.count)\n")
        }
        if self.connection.json { writeOut("[" + reports.joined(separator: ",") + "]\n") }
    }
}
