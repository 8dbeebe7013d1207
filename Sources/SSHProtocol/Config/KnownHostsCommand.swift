internal import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh_config(5)'s KnownHostsCommand, run as sshconnect.c `load_hostkeys_command` runs it:
/// the words of the command (split like misc.c `argv_split` when the configuration was
/// read), every word but the first expanded by `percent_dollar_expand` (`${NAME}` from the
/// environment, then the `%` tokens), the program run directly (no shell; its path must be
/// absolute) with standard input on /dev/null, the environment kept, and its standard
/// output read as known_hosts lines.
public struct KnownHostsCommand: Sendable {
    /// The command's words as written.
    public var words: [String]
    /// The connection's `%` tokens (sshconnect.h `DEFAULT_CLIENT_PERCENT_EXPAND_ARGS`:
    /// `%C %L %i %k %l %n %p %d %h %r %u`); `%H %I %t %f %K` are added per invocation.
    public var tokens: [Character: String]

    public init(words: [String], tokens: [Character: String]) {
        self.words = words
        self.tokens = tokens
    }

    /// Runs the command for `invocation` (`HOSTNAME`, or `ORDER` while host key
    /// algorithms are ordered) about the known_hosts name `hostName` and, when there is one,
    /// the host key the server sent; returns what it printed.
    ///
    /// Like ssh, a command that cannot start (a relative path, a missing program) yields
    /// nothing; one that exits other than 0, or is killed, fails the connection.
    /// - Throws: `.hostKeyRejected` "KnownHostsCommand failed" for a failed command,
    ///   `.invalidConfiguration` for a `${NAME}` with no value or an unknown `%` token.
    func run(invocation: String, hostName: String, key: SSHPublicKey?) throws(SSHProtocolError) -> [UInt8] {
        guard let program = self.words.first else { return [] }
        var tokens = self.tokens
        tokens["H"] = hostName
        tokens["I"] = invocation
        tokens["t"] = key?.type.sshName ?? "NONE"
        tokens["f"] = key.map { $0.fingerprint().description } ?? "NONE"
        tokens["K"] = key.map { Base64.encode($0.wireBlob) } ?? "NONE"
        var arguments = [program]
        for word in self.words.dropFirst() {
            arguments.append(try Self.expand(word, tokens: tokens))
        }
        // misc.c subprocess: "path is not absolute" is an error, not a failure of the command.
        guard program.hasPrefix("/") else { return [] }
        return try Self.spawn(arguments)
    }

    /// misc.c `percent_dollar_expand`: `${NAME}` first, then the `%` tokens.
    static func expand(_ word: String, tokens: [Character: String]) throws(SSHProtocolError) -> String {
        var out = ""
        var rest = Substring(word)
        while let dollar = rest.firstIndex(of: "$") {
            let next = rest.index(after: dollar)
            guard next < rest.endIndex, rest[next] == "{" else {
                out += rest[...dollar]
                rest = rest[next...]
                continue
            }
            out += rest[..<dollar]
            let nameStart = rest.index(after: next)
            guard let end = rest[nameStart...].firstIndex(of: "}") else {
                throw SSHProtocolError(.invalidConfiguration, "KnownHostsCommand: '\(word)' has an unterminated ${")
            }
            let name = String(rest[nameStart..<end])
            guard let value = getenv(name) else {
                throw SSHProtocolError(
                    .invalidConfiguration,
                    "KnownHostsCommand: the environment variable ${\(name)} has no value"
                )
            }
            out += String(cString: value)
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return try SSHConfig.expand(out, tokens: tokens, source: "KnownHostsCommand", home: "", tilde: false)
    }

    /// Runs `arguments[0]` with standard output captured; returns it when the program exits 0.
    private static func spawn(_ arguments: [String]) throws(SSHProtocolError) -> [UInt8] {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return [] }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let spawned = spawnConfiguredCommand(arguments[0], arguments, actions: &actions)
        close(fds[1])
        defer { close(fds[0]) }
        // misc.c subprocess: a program that cannot be run is reported and yields nothing.
        guard case .success(let pid) = spawned else { return [] }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n > 0 {
                output += buffer[..<n]
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // misc.c exited_cleanly: killed by a signal, or an exit status other than 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw SSHProtocolError(.hostKeyRejected, "KnownHostsCommand failed (\(arguments.joined(separator: " ")))")
        }
        return output
    }
}
