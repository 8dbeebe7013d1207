import ArgumentParser
import CommandLineText
import KeyDeploy
import SSHConnect
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

            With several destinations (arguments and --hosts-file), up to --parallel hosts are \
            worked on at once; each gets one line (removed, not present, or failed and why), then \
            a summary line; the exit status is 0 only if every host succeeded.
            """
    )

    @Option(
        name: .customShort("i", allowingJoined: true),
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
        let destinations: [String]
        do { destinations = try self.connection.allDestinations() } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        if destinations.count > 1 { return try self.runFleet(destinations, keys: keys) }
        var reports: [JSON] = []
        try self.connection.forEachDestination(destinations) { destination, config, client in
            let result = try client.withAuthorizedKeysStore(
                target: self.connection.target,
                sftp: self.connection.sftp,
                fallingBack: sftpFallbackNote(destination)
            ) {
                try $0.remove(keys: keys, dryRun: self.dryRun)
            }
            if self.connection.json {
                reports.append(
                    .object([("destination", .string(destination))] + Self.json(result, dryRun: self.dryRun))
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
                writeOut(result.removed.map { "\($0.line): \(escapePeerText($0.text))\n" }.joined())
                return
            }
            writeOut("Number of key(s) removed from \(destination): \(result.removed.count)\n")
        }
        if self.connection.json { writeOut(JSON.array(reports).text + "\n") }
    }

    /// Removes `keys` on every destination at once; a line per host and a summary.
    private func runFleet(_ destinations: [String], keys: [SSHPublicKey]) throws {
        let run: FleetRun
        do { run = try self.connection.prepareRun(hosts: destinations.count) } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        let (target, dryRun, sftp) = (self.connection.target, self.dryRun, self.connection.sftp)
        let results = self.connection.runFleet(destinations, run) { destination, _, client in
            try client.withAuthorizedKeysStore(target: target, sftp: sftp, fallingBack: sftpFallbackNote(destination)) {
                try $0.remove(keys: keys, dryRun: dryRun)
            }
        }
        let reports = results.map { host -> HostReport in
            switch host.outcome {
            case .failure(let error):
                return .failed(host.destination, FailureText.reason(error))
            case .success(let result):
                let n = result.removed.count
                return HostReport(
                    destination: host.destination,
                    status: n == 0 ? .notPresent : .removed,
                    detail: dryRun
                        ? "would remove \(keyCount(n, "line"))" : n == 0 ? "not present" : "removed \(keyCount(n))",
                    json: Self.json(result, dryRun: dryRun)
                )
            }
        }
        try finishFleet(reports, json: self.connection.json)
    }

    /// The JSON members of one host's result, after its destination.
    private static func json(_ result: KeyDeploy.RemoveResult, dryRun: Bool) -> [(String, JSON)] {
        [
            ("dryRun", .bool(dryRun)),
            ("removed", .array(result.removed.map { .object([("line", .int($0.line)), ("text", .string($0.text))]) })),
            ("notFound", .array(result.notFound.map { .string($0.fingerprint().description) })),
        ]
    }
}
