import ArgumentParser
import KeyDeploy
import SSHConnect
import SSHKeys
import SSHProtocol

struct ListIDs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-ids",
        abstract: "List the keys in remote authorized_keys files with their fingerprints.",
        discussion: """
            Prints one line per key as keysmith fingerprint (ssh-keygen -l) does: bits, \
            fingerprint, comment and type; with more than one destination each line starts \
            with the destination.

            With several destinations (arguments and --hosts-file), up to --parallel hosts are \
            read at once; the keys of each host follow in the order given (a host that failed \
            gets a line saying why), then a summary line; the exit status is 0 only if every \
            host could be read. With --json each host is an object with its keys.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var objects: [JSON] = []
        let destinations: [String]
        do { destinations = try self.connection.allDestinations() } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        if destinations.count > 1 { return try self.runFleet(destinations) }
        try self.connection.forEachDestination(destinations) { destination, _, client in
            let entries = try client.withAuthorizedKeysStore(target: self.connection.target, sftp: self.connection.sftp)
            {
                try $0.list()
            }
            for entry in entries {
                if self.connection.json {
                    objects.append(Self.json(entry, destination: destination))
                    continue
                }
                writeOut(Self.line(entry) + "\n")
            }
        }
        if self.connection.json { writeOut(JSON.array(objects).text + "\n") }
    }

    /// Reads every destination at once; each host's keys, then a summary.
    private func runFleet(_ destinations: [String]) throws {
        let run: FleetRun
        do { run = try self.connection.prepareRun(hosts: destinations.count) } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        let (target, sftp) = (self.connection.target, self.connection.sftp)
        let results = self.connection.runFleet(destinations, run) { _, _, client in
            try client.withAuthorizedKeysStore(target: target, sftp: sftp) { try $0.list() }
        }
        let reports = results.map { host -> HostReport in
            switch host.outcome {
            case .failure(let error):
                return .failed(host.destination, FailureText.reason(error))
            case .success(let entries):
                let keys = entries.map { Self.json($0, destination: host.destination) }
                return HostReport(
                    destination: host.destination,
                    status: .listed,
                    detail: entries.isEmpty ? "no keys" : keyCount(entries.count),
                    lines: entries.isEmpty ? nil : entries.map { host.destination + " " + Self.line($0) },
                    json: [("keys", .array(keys))]
                )
            }
        }
        try finishFleet(reports, json: self.connection.json)
    }

    /// `bits fingerprint comment (type)`, as ssh-keygen -l prints a key.
    private static func line(_ entry: KeyDeploy.ListedKey) -> String {
        let comment = escapePeerText(entry.comment ?? "no comment")
        return "\(entry.key.bits) \(entry.key.fingerprint()) \(comment) (\(entry.key.type.displayName))"
    }

    private static func json(_ entry: KeyDeploy.ListedKey, destination: String) -> JSON {
        .object([
            ("destination", .string(destination)), ("line", .int(entry.line)), ("bits", .int(entry.key.bits)),
            ("fingerprint", .string(entry.key.fingerprint().description)), ("comment", .string(orNull: entry.comment)),
            ("type", .string(entry.key.type.displayName)), ("options", .string(orNull: entry.options)),
        ])
    }
}
