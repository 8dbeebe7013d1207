import ArgumentParser
import KeyDeploy
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
            """
    )

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var objects: [String] = []
        let many = self.connection.destinations.count > 1
        try self.connection.forEachDestination { destination, _, client in
            let entries =
                if self.connection.sftp {
                    try withSFTP(client) { try SFTPKeyDeploy.list(target: self.connection.target, over: $0) }
                } else {
                    try KeyDeploy.list(target: self.connection.target, over: client)
                }
            for entry in entries {
                let fp = entry.key.fingerprint().description
                if self.connection.json {
                    objects.append(
                        "{\"destination\":\(jsonString(destination)),\"line\":\(entry.line),\"bits\":\(entry.key.bits),\"fingerprint\":\(jsonString(fp)),\"comment\":\(entry.comment.map(jsonString) ?? "null"),\"type\":\(jsonString(entry.key.type.displayName)),\"options\":\(entry.options.map(jsonString) ?? "null")}"
                    )
                    continue
                }
                let comment = escapeForTerminal(entry.comment ?? "no comment")
                writeOut(
                    (many ? destination + " " : "")
                        + "\(entry.key.bits) \(fp) \(comment) (\(entry.key.type.displayName))\n"
                )
            }
        }
        if self.connection.json { writeOut("[" + objects.joined(separator: ",") + "]\n") }
    }
}
