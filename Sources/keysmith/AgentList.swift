import ArgumentParser
import CommandLineText
import SSHCrypto
import SSHKeys
import SSHProtocol

struct AgentList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the agent's keys (ssh-add -l, -L).",
        discussion: """
            Prints one line per key the agent holds, as ssh-add -l does (bits, fingerprint, \
            comment, type), or with -L as ssh-add -L does (the public key line and its comment). \
            An agent without keys prints "The agent has no identities." on standard output and \
            exits with status 1, as ssh-add. --json prints an array of objects with bits, \
            fingerprint, comment, type and key.
            """
    )

    @Flag(name: .customShort("l"), help: "Fingerprints of the keys (the default).")
    var fingerprints = false

    @Flag(name: .customShort("L"), help: "Public key lines of the keys.")
    var publicKeys = false

    @Option(
        name: .customShort("E", allowingJoined: true),
        help: ArgumentHelp("Fingerprint hash: md5, sha1, sha256, sha384 or sha512.", valueName: "hash")
    )
    var hash: String = "sha256"

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        if self.fingerprints && self.publicKeys { throw ValidationError("-l and -L cannot be given together.") }
        guard agentHashFunction(self.hash) != nil else {
            throw ValidationError("Invalid hash algorithm \"\(self.hash)\"; use md5, sha1, sha256, sha384 or sha512.")
        }
    }

    func run() throws {
        let agent = try connectToAgent()
        let identities: [SSHAgentIdentity]
        do {
            identities = try agent.listIdentities()
        } catch {
            printError("error fetching identities: \(agentErrorText(error))")
            throw ExitCode(1)
        }
        let function = agentHashFunction(self.hash) ?? .sha256
        if self.json {
            let items = identities.map { identity in
                JSON.object([
                    ("bits", .int(identity.publicKey.bits)),
                    ("fingerprint", .string(identity.publicKey.fingerprint(function).description)),
                    ("comment", .string(identity.comment)),
                    ("type", .string(identity.publicKey.type.displayName)),
                    ("key", .string(identity.publicKey.openSSHLine())),
                ])
            }
            writeOut(JSON.array(items).text + "\n")
            if identities.isEmpty { throw ExitCode(1) }
            return
        }
        guard !identities.isEmpty else {
            writeOut("The agent has no identities.\n")
            throw ExitCode(1)
        }
        var out = ""
        for identity in identities {
            let key = identity.publicKey
            if self.publicKeys {
                // sshkey_write, then " %s": the space stays when the comment is empty.
                out += key.openSSHLine() + " " + identity.comment + "\n"
            } else {
                out += "\(key.bits) \(key.fingerprint(function)) \(identity.comment) (\(key.type.displayName))\n"
            }
        }
        writeOut(out)
    }
}

/// ssh_digest_alg_by_name's names.
func agentHashFunction(_ name: String) -> HashFunction? {
    switch name {
    case "md5": .md5
    case "sha1": .sha1
    case "sha256": .sha256
    case "sha384": .sha384
    case "sha512": .sha512
    default: nil
    }
}
