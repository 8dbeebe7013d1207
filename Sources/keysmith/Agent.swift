import ArgumentParser
import CommandLineText
import SSHCrypto
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Manage the keys of a running ssh-agent (ssh-add).",
        discussion: """
            Talks to the agent whose socket SSH_AUTH_SOCK names, as ssh-add does, and prints \
            what ssh-add prints, on the same streams, with the same exit status: 0 on success, \
            1 on failure, 2 when no agent can be reached ("Could not open a connection to your \
            authentication agent." when SSH_AUTH_SOCK is not set, "Error connecting to agent: \
            REASON" when its socket cannot be connected to).
            """,
        subcommands: [AgentAdd.self, AgentList.self, AgentRemove.self, AgentLock.self, AgentUnlock.self]
    )
}

extension Agent: CommandGroup {}

/// The agent SSH_AUTH_SOCK names, or ssh-add's sentence and exit status 2.
func connectToAgent() throws -> SSHAgentClient {
    guard let socket = getenv("SSH_AUTH_SOCK"), socket.pointee != 0 else {
        printError("Could not open a connection to your authentication agent.")
        throw ExitCode(2)
    }
    do {
        return try SSHAgentClient(connectingTo: String(cString: socket))
    } catch {
        printError("Error connecting to agent: \(error.reason)")
        throw ExitCode(2)
    }
}

/// ssh_err's words for what went wrong talking to the agent.
func agentErrorText(_ error: SSHProtocolError) -> String {
    switch error.code {
    case .agentRefused: "agent refused operation"
    case .protocolViolation: "invalid format"
    default: "communication with agent failed"
    }
}

/// A public key file as ssh-add's sshkey_load_public reads it: the first key line of
/// `path`, else of `path.pub` (a line starting with -----BEGIN stops the search), its
/// comment the rest of the line or, without one, the file's name.
/// - Returns: nil when neither file holds a key line.
func loadPublicKeyLikeSSHAdd(_ path: String) -> (key: SSHPublicKey, comment: String)? {
    for file in [path, path + ".pub"] {
        guard var bytes = try? KeyFileIO.readFile(file) else { continue }
        // A private key file is not read as text: its bytes are wiped at once.
        if bytes.starts(with: Array("-----BEGIN".utf8)) {
            secureWipe(&bytes)
            continue
        }
        for raw in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.hasPrefix("#") || raw.isEmpty { continue }
            if raw.hasPrefix("-----BEGIN") || raw == "SSH PRIVATE KEY FILE" { break }
            let line = raw.drop { $0 == " " || $0 == "\t" }
            let words = line.split(maxSplits: 2, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
            guard words.count >= 2, let key = try? SSHPublicKey(openSSHLine: "\(words[0]) \(words[1])") else {
                continue
            }
            var comment = words.count > 2 ? String(words[2]) : ""
            while let last = comment.last, last == "\r" || last == "\n" { comment.removeLast() }
            return (key, comment.isEmpty ? file : comment)
        }
    }
    return nil
}
