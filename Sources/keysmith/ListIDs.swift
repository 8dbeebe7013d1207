import ArgumentParser
import CommandLineText
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
            with the destination. A line keysmith cannot read (an SSH-1 key, a key type it \
            does not read, a damaged key) is listed too, as "line N is unreadable: why" (in \
            JSON: line, "unreadable": true and reason), so that no key is ever left out \
            unseen; blank lines and # comments are not listed. A cert-authority line (a CA \
            whose user certificates sshd accepts) ends in "certificate authority", and "for \
            principals LIST" when it has a principals= option (in JSON: "certificateAuthority": \
            true and "principals", a list or null).

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
            let listing = try client.withAuthorizedKeysStore(
                target: self.connection.target,
                sftp: self.connection.sftp,
                fallingBack: sftpFallbackNote(destination)
            ) {
                try $0.listing()
            }
            for item in Self.items(listing) {
                if self.connection.json {
                    objects.append(Self.json(item, destination: destination))
                    continue
                }
                writeOut(Self.line(item) + "\n")
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
        let results = self.connection.runFleet(destinations, run) { destination, _, client in
            try client.withAuthorizedKeysStore(target: target, sftp: sftp, fallingBack: sftpFallbackNote(destination)) {
                try $0.listing()
            }
        }
        let reports = results.map { host -> HostReport in
            switch host.outcome {
            case .failure(let error):
                return .failed(host.destination, FailureText.reason(error))
            case .success(let listing):
                let items = Self.items(listing)
                return HostReport(
                    destination: host.destination,
                    status: .listed,
                    detail: items.isEmpty ? "no keys" : keyCount(listing.keys.count),
                    lines: items.isEmpty ? nil : items.map { host.destination + " " + Self.line($0) },
                    json: [("keys", .array(items.map { Self.json($0, destination: host.destination) }))]
                )
            }
        }
        try finishFleet(reports, json: self.connection.json)
    }

    /// A line of the listing: a key, or a line that holds none keysmith reads.
    enum Item {
        case key(KeyDeploy.ListedKey)
        case unreadable(UnreadableKeyLine)
    }

    /// The keys and the unreadable lines of `listing`, in file order.
    private static func items(_ listing: KeyDeploy.Listing) -> [Item] {
        var items = listing.keys.map(Item.key) + listing.unreadable.map(Item.unreadable)
        items.sort { $0.lineNumber < $1.lineNumber }
        return items
    }

    /// `bits fingerprint comment (type)`, as ssh-keygen -l prints a key; for a line keysmith
    /// cannot read, `line N is unreadable: REASON`.
    private static func line(_ item: Item) -> String {
        switch item {
        case .key(let entry):
            let comment = escapePeerText(entry.comment ?? "no comment")
            var line = "\(entry.key.bits) \(entry.key.fingerprint()) \(comment) (\(entry.key.type.displayName))"
            if entry.isCertificateAuthority {
                line += " certificate authority"
                if let principals = entry.principals {
                    line += " for principals \(escapePeerText(principals.joined(separator: ",")))"
                }
            }
            return line
        case .unreadable(let line):
            return "line \(line.lineNumber) is unreadable: \(escapePeerText(line.reason))"
        }
    }

    private static func json(_ item: Item, destination: String) -> JSON {
        switch item {
        case .key(let entry):
            return .object([
                ("destination", .string(destination)), ("line", .int(entry.line)), ("bits", .int(entry.key.bits)),
                ("fingerprint", .string(entry.key.fingerprint().description)),
                ("comment", .string(orNull: entry.comment)), ("type", .string(entry.key.type.displayName)),
                ("options", .string(orNull: entry.options)),
                ("certificateAuthority", .bool(entry.isCertificateAuthority)),
                ("principals", entry.principals.map { .array($0.map(JSON.string)) } ?? .null),
            ])
        case .unreadable(let line):
            return .object([
                ("destination", .string(destination)), ("line", .int(line.lineNumber)), ("unreadable", .bool(true)),
                ("reason", .string(line.reason)),
            ])
        }
    }
}

extension ListIDs.Item {
    var lineNumber: Int {
        switch self {
        case .key(let entry): entry.line
        case .unreadable(let line): line.lineNumber
        }
    }
}
