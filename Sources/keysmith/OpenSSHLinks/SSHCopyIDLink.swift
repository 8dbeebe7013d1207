import ArgumentParser
import CommandLineText
import KeyDeploy
import SSHConnect
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// keysmith run as `ssh-copy-id` (see OpenSSHLink): the command line of Debian 12's
/// ssh-copy-id (OpenSSH 9.2p1's script, `getopts "i:o:p:F:fnsh?"`) over keysmith's copy-id,
/// which logs in with keysmith's own SSH client, not ssh. Its messages are the script's,
/// on the script's streams, with the script's path as the program's own (`$0`), and its
/// exit statuses (0, or 1 for every failure and usage error).
///
/// Where the script asks ssh to log in with each key to see which are installed already,
/// keysmith reads authorized_keys and compares key blobs; where ssh's -o options are
/// passed on, only the ssh_config keywords keysmith's client implements are taken, any
/// other is refused in one sentence. The script's NetScreen and Dropbear special cases
/// (found from the server's version string) are not made.
enum SSHCopyIDLink {
    /// The script's getopts string.
    static let optionString = "i:o:p:F:fnsh?"

    /// The program's name as the script's `$0`: the path it was run by.
    static var program: String { CommandLine.arguments.first ?? "ssh-copy-id" }

    static func run(_ arguments: [String]) -> Int32 {
        OpenSSHLink.exitStatus { try self.main(arguments) }
    }

    /// The script's usage(): on stderr, exit status 1.
    private static func usage() -> ExitCode {
        printError(
            "Usage: \(Self.program) [-h|-?|-f|-n|-s] [-i [identity_file]] [-p port] [-F alternative ssh_config file] [[-o <ssh -o options>] ...] [user@]hostname"
        )
        printError("\t-f: force mode -- copy keys without trying to check if they are already installed")
        printError("\t-n: dry run    -- no keys are actually copied")
        printError(
            "\t-s: use sftp   -- use sftp instead of executing remote-commands. Can be useful if the remote only allows sftp"
        )
        printError("\t-h|-?: print this help")
        return ExitCode(1)
    }

    /// The script's quote(): an argument in single quotes, each `'` written `'\''`.
    static func quote(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Where the keys come from.
    private enum Source {
        case file(String)
        case agent([String])
    }

    private static func main(_ arguments: [String]) throws {
        let program = Self.program
        let options: Getopt
        do { options = try Getopt(arguments, optionString: Self.optionString) } catch {
            // dash's getopts words its complaints so.
            if let letter = error.message.last, error.message.hasPrefix("option requires") {
                printError("No arg for -\(letter) option")
            } else if let letter = error.message.last {
                printError("Illegal option -\(letter)")
            }
            throw Self.usage()
        }
        // The script asks ssh-add -L first: the agent's keys, unless -i names a file.
        var source: Source? = Self.agentLines().map { .agent($0) }
        var forced = false
        var sawIdentity = false
        var sshOptions: [String] = []
        var connection: [String] = []
        for option in options.options {
            switch option.letter {
            case "i":
                if sawIdentity {
                    writeOut("\n\(program): ERROR: -i option must not be specified more than once\n\n")
                    throw Self.usage()
                }
                sawIdentity = true
                let value = option.value ?? ""
                guard let file = value.isEmpty ? newestDefaultPublicKey() : value else {
                    writeOut("\(program): ERROR: no ID file found\n")
                    throw ExitCode(1)
                }
                source = .file(try Self.useIdentityFile(file, forced: forced))
            case "o", "p", "F":
                let value = option.value ?? ""
                sshOptions.append("-\(option.letter) \(Self.quote(value))")
                connection += ["-\(option.letter)", value]
            case "f": forced = true
            case "h", "?": throw Self.usage()
            default: break
            }
        }
        guard let destination = options.operands.first else { throw Self.usage() }
        guard options.operands.count == 1 else {
            // The script names $SAVEARGS here, which it never sets.
            printError("\(program): ERROR: Too many arguments.  Expecting a target hostname, got: \n")
            throw Self.usage()
        }
        let sftp = options.has("s")
        let dryRun = options.has("n")
        sshOptions.append(Self.quote(destination))
        for o in options.all("o") {
            let keyword = o.split(maxSplits: 1) { $0 == "=" || $0 == " " || $0 == "\t" }.first.map(String.init) ?? o
            guard SSHConfig.knownKeywords.contains(keyword.lowercased()) else {
                throw ExitCode(
                    OpenSSHLink.notImplemented(
                        .sshCopyID,
                        "the ssh option -o '\(o)' (keysmith's SSH client does not implement \(keyword))"
                    )
                )
            }
        }

        if source == nil, let file = newestDefaultPublicKey(), access(file, R_OK) == 0 {
            source = .file(try Self.useIdentityFile(file, forced: forced))
        }
        let lines: [String]
        switch source {
        case .agent(let agentLines): lines = agentLines
        case .file(let path): lines = Self.keyLines(path)
        case nil: lines = []
        }
        guard !lines.isEmpty else {
            printError("\(program): ERROR: No identities found")
            throw ExitCode(1)
        }
        // The script makes its scratch folder with mktemp -d ~/.ssh/ssh-copy-id.XXXXXXXXXX.
        let scratch = sshDirectory()
        if access(scratch, W_OK | X_OK) != 0 {
            let reason = String(cString: strerror(errno))
            printError(
                "mktemp: failed to create directory via template \u{2018}\(scratch)/ssh-copy-id.XXXXXXXXXX\u{2019}: \(reason)"
            )
            printError("\(program): ERROR: failed to create required temporary directory under ~/.ssh")
            throw ExitCode(1)
        }
        if forced && dryRun {
            // Nothing to log in for: the script only reads the server's version then.
            Self.printDryRun(lines)
            return
        }
        if !forced {
            printError(
                "\(program): INFO: attempting to log in with the new key(s), to filter out any that are already installed"
            )
        }
        let settings = try ConnectionOptions.parse(connection + (sftp ? ["-s"] : []) + [destination])
        let run: FleetRun
        do { run = try settings.prepareRun(hosts: 1) } catch let error as Failure {
            printError("\n\(program): ERROR: \(error.message)\n")
            throw ExitCode(1)
        }
        var added: [String] = []
        do {
            added = try run.connector.withConnection(to: destination, password: run.password) { _, client in
                try client.withAuthorizedKeysStore(target: KeyDeploy.defaultTarget, sftp: sftp) { store in
                    let wanted = forced ? lines : try store.copy(lines: lines, force: false, dryRun: true).added
                    if !forced {
                        if wanted.isEmpty { return [] }
                        printError(
                            "\(program): INFO: \(wanted.count) key(s) remain to be installed -- if you are prompted now it is to install the new keys"
                        )
                    }
                    if dryRun { return wanted }
                    let result = try store.copy(lines: wanted, force: forced, dryRun: false)
                    for r in result.repaired {
                        printError(
                            "\(program) (keysmith): WARNING: repaired the mode of \(escapePeerText(r.path)) (was \(escapePeerText(r.mode))): sshd's StrictModes refuses group- or world-writable paths"
                        )
                    }
                    return result.added
                }
            }
        } catch {
            printError("\n\(program): ERROR: \(sentence(FailureText.line(error, destination: destination)))\n")
            throw ExitCode(1)
        }
        if added.isEmpty && !forced {
            printError("\n\(program): WARNING: All keys were skipped because they already exist on the remote system.")
            printError("\t\t(if you think this is a mistake, you may want to use -f option)\n")
            return
        }
        if dryRun {
            Self.printDryRun(added)
            return
        }
        writeOut("\nNumber of key(s) added: \(added.count)\n\n")
        writeOut(
            "Now try logging into the machine, with:   \"\(sftp ? "sftp" : "ssh") \(sshOptions.joined(separator: " "))\"\n"
        )
        writeOut("and check to make sure that only the key(s) you wanted were added.\n\n")
    }

    /// The script's use_id_file: FILE.pub for FILE, both readable (the private key unless
    /// forced), or its error on stdout and exit status 1; says where the keys come from.
    private static func useIdentityFile(_ file: String, forced: Bool) throws -> String {
        let program = Self.program
        let publicPath = file.hasSuffix(".pub") ? file : file + ".pub"
        var paths = [publicPath]
        if !forced { paths.append(String(publicPath.dropLast(4))) }
        for path in paths {
            let fd = open(path, O_RDONLY)
            if fd >= 0 {
                close(fd)
                continue
            }
            // dash's words for the error, as the script's `: < FILE` shows them.
            let reason = errno == ENOENT ? "No such file" : String(cString: strerror(errno))
            var message = "\n\(program): ERROR: failed to open ID file '\(path)': \(reason)\n"
            if path != publicPath {
                message += "\t(to install the contents of '\(publicPath)' anyway, look at the -f option)\n"
            }
            writeOut(message)
            throw ExitCode(1)
        }
        printError("\(program): INFO: Source of key(s) to be installed: \"\(publicPath)\"")
        return publicPath
    }

    /// The lines of the public key file, as `cat` gives them to the script (without the
    /// trailing empty ones); only lines holding a key are installed.
    private static func keyLines(_ path: String) -> [String] {
        guard let bytes = try? KeyFileIO.readFile(path) else { return [] }
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }

    /// `ssh-add -L` when SSH_AUTH_SOCK is set and the agent holds keys, else nil.
    private static func agentLines() -> [String]? {
        guard let socket = getenv("SSH_AUTH_SOCK"), socket.pointee != 0,
            let agent = try? SSHAgentClient(connectingTo: String(cString: socket)),
            let identities = try? agent.listIdentities(), !identities.isEmpty
        else { return nil }
        return identities.map { $0.publicKey.openSSHLine() + " " + $0.comment }
    }

    /// The script's dry-run text, on stdout.
    private static func printDryRun(_ lines: [String]) {
        writeOut("=-=-=-=-=-=-=-=\nWould have added the following key(s):\n\n")
        writeOut(lines.map { $0 + "\n" }.joined())
        writeOut("=-=-=-=-=-=-=-=\n")
    }
}
