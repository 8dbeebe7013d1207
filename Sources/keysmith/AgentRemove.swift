import ArgumentParser
import CommandLineText
import SSHCrypto
import SSHKeys
import SSHProtocol

struct AgentRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove keys from the agent (ssh-add -d, -D).",
        discussion: """
            Removes the key of each KEY (its public key file KEY or KEY.pub) and the \
            certificate KEY-cert.pub beside it, as ssh-add -d does, reporting "Identity removed: \
            KEY TYPE (COMMENT)" on standard error; --all removes every key, as ssh-add -D \
            ("All identities removed."). Exit status 1 when a key could not be removed.
            """
    )

    @Flag(name: [.customLong("all"), .customShort("D")], help: "Remove every key (ssh-add -D).")
    var all = false

    @Flag(name: .customShort("q"), help: "Do not report what was removed.")
    var quiet = false

    @Argument(help: ArgumentHelp("Key files (private or public).", valueName: "key"))
    var keys: [String] = []

    func validate() throws {
        if self.all && !self.keys.isEmpty { throw ValidationError("--all takes no key files.") }
        if !self.all && self.keys.isEmpty { throw ValidationError("Name the key files to remove, or give --all.") }
    }

    func run() throws {
        let agent = try connectToAgent()
        if self.all {
            do {
                try agent.removeAllIdentities()
            } catch {
                printError("Failed to remove all identities.")
                throw ExitCode(1)
            }
            if !self.quiet { printError("All identities removed.") }
            return
        }
        var failed = false
        for path in self.keys where !removeKeyFile(path, agent: agent, quiet: self.quiet) { failed = true }
        if failed { throw ExitCode(1) }
    }
}

/// ssh-add's delete_file: the key, then PATH-cert.pub when there is one (unless `keyOnly`,
/// ssh-add -k); false when nothing was removed.
func removeKeyFile(_ path: String, agent: SSHAgentClient, quiet: Bool, keyOnly: Bool = false) -> Bool {
    guard let (key, comment) = loadPublicKeyLikeSSHAdd(path) else {
        // printf, so standard output, as ssh-add.
        writeOut("Bad key file \(path): No such file or directory\n")
        return false
    }
    var removed = removeAgentKey(key, comment: comment, path: path, agent: agent, quiet: quiet)
    if keyOnly { return removed }
    let certificatePath = path + "-cert.pub"
    guard KeyFileIO.fileExists(certificatePath) else { return removed }
    guard let (certificate, certificateComment) = loadPublicKeyLikeSSHAdd(certificatePath) else {
        printError("Failed to load certificate \"\(certificatePath)\": invalid format")
        return removed
    }
    guard certificate.plainKey == key.plainKey else {
        printError("Certificate \(certificatePath) does not match private key \(path)")
        return false
    }
    if removeAgentKey(certificate, comment: certificateComment, path: certificatePath, agent: agent, quiet: quiet) {
        removed = true
    }
    return removed
}

/// ssh-add's delete_one: removes `key`, reporting it as `path`'s.
func removeAgentKey(_ key: SSHPublicKey, comment: String, path: String, agent: SSHAgentClient, quiet: Bool) -> Bool {
    do {
        try agent.removeIdentity(key)
    } catch {
        printError("Could not remove identity \"\(path)\": \(agentErrorText(error))")
        return false
    }
    if !quiet { printError("Identity removed: \(path) \(key.type.displayName) (\(comment))") }
    return true
}
