import ArgumentParser
import CommandLineText
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// keysmith run as `ssh-add` (see OpenSSHLink): OpenSSH 9.2's ssh-add command line over the
/// agent commands (`keysmith agent`), with ssh-add's output, streams and exit statuses:
/// 0; 1 when an operation failed or for a usage error; 2 when no agent can be reached
/// (checked first, before the command line is read, as ssh-add does); 255 where ssh-add
/// calls `fatal` (a repeated `-l`/`-L` or `-x`/`-X`, two actions, an unknown `-E` hash).
///
/// Refused in one sentence with exit status 1, where ssh-add would act on them: PKCS#11
/// (`-s`, `-e`), resident keys (`-K`), `-T`, destination constraints (`-h`, `-H`) and XMSS
/// (`-M`, `-m`).
enum SSHAddLink {
    /// ssh-add.c's getopt string (OpenSSH 9.2).
    static let optionString = "vkKlLcdDTxXE:e:h:H:M:m:qs:S:t:"

    /// ssh-add's usage text as Debian's build (without XMSS) prints it.
    static let usage = """
        usage: ssh-add [-cDdKkLlqvXx] [-E fingerprint_hash] [-H hostkey_file]
                       [-h destination_constraint] [-S provider] [-t life]
                       [file ...]
               ssh-add -s pkcs11
               ssh-add -e pkcs11
               ssh-add -T pubkey ...
        """

    /// ssh-add's default identities (pathnames.h), in its order, under the password entry's
    /// home directory as ssh-add takes it.
    static let defaultFiles = [
        "id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa",
    ]

    static func run(_ arguments: [String]) -> Int32 {
        OpenSSHLink.exitStatus { try self.main(arguments) }
    }

    /// ssh-add's `fatal`: the sentence on stderr, exit status 255.
    private static func fatal(_ message: String) -> ExitCode {
        Self.log(message)
        return ExitCode(255)
    }

    /// A line as OpenSSH's log functions (error, fatal, and its getopt's complaints) write
    /// it on stderr: ended by CR LF, not LF as ssh-add's own fprintf lines.
    static func log(_ message: String) {
        let line = Array((escapeControlCharacters(message) + "\r\n").utf8)
        line.withUnsafeBytes { p in _ = write(2, p.baseAddress, p.count) }
    }

    private static func main(_ arguments: [String]) throws {
        let agent = try connectToAgent()
        let options: Getopt
        do { options = try Getopt(arguments, optionString: Self.optionString) } catch {
            // OpenSSH's own getopt says "unknown", not "illegal", and names no program.
            let message = error.message
            Self.log(message.hasPrefix("illegal ") ? "unknown " + message.dropFirst(8) : message)
            printError(Self.usage)
            throw ExitCode(1)
        }
        var list: Character?
        var lock: Character?
        var lifetime: UInt32?
        var hash = "sha256"
        for option in options.options {
            switch option.letter {
            case "E":
                hash = option.value ?? ""
                guard agentHashFunction(hash) != nil else { throw Self.fatal("Invalid hash algorithm \"\(hash)\"") }
            case "l", "L":
                if let list { throw Self.fatal("-\(list) flag already specified") }
                list = option.letter
            case "x", "X":
                if let lock { throw Self.fatal("-\(lock) flag already specified") }
                lock = option.letter
            case "M", "m":
                // strtonum(optarg, 1, UINT_MAX): anything else is the usage text.
                guard let value = UInt32(option.value ?? ""), value >= 1 else {
                    printError(Self.usage)
                    throw ExitCode(1)
                }
            case "t":
                guard let seconds = OpenSSHDuration.seconds(option.value ?? ""), seconds <= Int64(UInt32.max) else {
                    printError("Invalid lifetime")
                    throw ExitCode(1)
                }
                lifetime = UInt32(seconds)
            default: break
            }
        }
        let delete = options.has("d") || options.has("e")
        if [lock != nil, list != nil, options.has("D")].count(where: { $0 }) > 1 {
            throw Self.fatal("Invalid combination of actions")
        }
        if let lock {
            try (lock == "x" ? AgentLock().run() : AgentUnlock().run())
            return
        }
        if let list {
            var command = try AgentList.parse(["-\(list)"])
            command.hash = hash
            try command.run()
            return
        }
        if options.has("D") {
            try AgentRemove.parse(["--all"] + (options.has("q") ? ["-q"] : [])).run()
            return
        }
        for (letter, what) in [
            ("h", "a destination constraint (-h)"), ("H", "a host key file for destination constraints (-H)"),
            ("T", "testing keys (-T)"), ("s", "a PKCS#11 provider (-s)"), ("e", "a PKCS#11 provider (-e)"),
            ("K", "loading resident keys (-K)"), ("M", "an XMSS signature limit (-M)"),
            ("m", "an XMSS signature limit (-m)"),
        ] where options.has(Character(letter)) {
            throw ExitCode(OpenSSHLink.notImplemented(.sshAdd, what))
        }
        var files = options.operands
        var defaults = false
        if files.isEmpty {
            defaults = true
            var home = "/"
            if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { home = String(cString: dir) }
            files = Self.defaultFiles.map { home + "/.ssh/" + $0 }.filter { path in
                var st = stat()
                return stat(path, &st) == 0
            }
        }
        let keyOnly = options.has("k")
        let quiet = options.has("q")
        var failed = defaults && files.isEmpty
        if delete {
            for path in files {
                let removed =
                    path == "-"
                    ? Self.removeStandardInput(agent: agent, quiet: quiet)
                    : removeKeyFile(path, agent: agent, quiet: quiet, keyOnly: keyOnly)
                if !removed { failed = true }
            }
        } else {
            var constraints = SSHAgentConstraints(confirm: options.has("c"))
            // ssh-add sends no lifetime constraint for 0.
            if let lifetime, lifetime > 0 { constraints.lifetime = lifetime }
            let provider = options.last("S") ?? getenv("SSH_SK_PROVIDER").map { String(cString: $0) } ?? "internal"
            var adder = AgentKeyAdder(
                agent: agent,
                constraints: constraints,
                securityKeyProvider: provider,
                quiet: quiet
            )
            adder.keyOnly = keyOnly
            for path in files {
                let added = path == "-" ? adder.addStandardInput() : adder.add(path)
                if !added { failed = true }
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// ssh-add's delete_stdin: every key line of standard input removed, reported as `(stdin)`
    /// with the rest of its line as the comment; true when any was removed.
    private static func removeStandardInput(agent: SSHAgentClient, quiet: Bool) -> Bool {
        guard let input = try? readStandardInput() else { return false }
        var removed = false
        for (number, raw) in String(decoding: input, as: UTF8.self).split(
            separator: "\n",
            omittingEmptySubsequences: false
        ).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(maxSplits: 2, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
            guard words.count >= 2, let key = try? SSHPublicKey(openSSHLine: "\(words[0]) \(words[1])") else {
                Self.log("(stdin):\(number + 1): invalid key: invalid format")
                continue
            }
            let comment = words.count > 2 ? String(words[2]) : ""
            if removeAgentKey(key, comment: comment, path: "(stdin)", agent: agent, quiet: quiet) { removed = true }
        }
        return removed
    }
}
