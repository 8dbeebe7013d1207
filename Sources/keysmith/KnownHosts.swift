import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct KnownHosts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "known-hosts",
        abstract: "Find, remove or hash hosts in a known_hosts file (ssh-keygen -F / -R / -H).",
        subcommands: [Find.self, Remove.self, Hash.self]
    )

    struct FileOption: ParsableArguments {
        @Option(
            name: .customShort("f", allowingJoined: true),
            help: ArgumentHelp("known_hosts file (default ~/.ssh/known_hosts).", valueName: "file")
        )
        var file: String?

        var path: String { self.file.map(expandTilde) ?? (sshDirectory() + "/known_hosts") }

        func read() throws -> KnownHostsFile {
            KnownHostsFile(contents: try KeyFileIO.readFile(self.path))
        }
    }

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "find",
            abstract: "Print the lines for HOST (ssh-keygen -F); exit 1 when there are none."
        )

        @Argument(help: "Host name, or [host]:port.")
        var host: String

        @OptionGroup var file: FileOption

        @Flag(name: .customShort("H"), help: "Print the found lines with their host names hashed.")
        var hash = false

        func run() throws {
            var found = true
            try reportingFailures {
                let knownHosts = try self.file.read()
                let out = knownHosts.findOutput(host: self.host, hash: self.hash)
                writeOut(String(decoding: out, as: UTF8.self))
                found = !out.isEmpty
            }
            if !found { throw ExitCode(1) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove HOST's keys (ssh-keygen -R); the old file is kept as FILE.old.",
            discussion: "@cert-authority and @revoked lines are kept. A file with invalid lines is not rewritten."
        )

        @Argument(help: "Host name, or [host]:port.")
        var host: String

        @OptionGroup var file: FileOption

        func run() throws {
            try reportingFailures {
                let path = self.file.path
                let removal = try self.file.read().removing(host: self.host)
                guard removal.isValid else {
                    for n in removal.invalidLineNumbers {
                        printError(KnownHostsMessages.invalidLine(path: path, lineNumber: n))
                    }
                    printError(KnownHostsMessages.notValidFile(path: path))
                    throw Failure(KnownHostsMessages.notReplacing)
                }
                guard removal.shouldWrite else {
                    printError(KnownHostsMessages.notFound(host: self.host, path: path))
                    return
                }
                var out = ""
                for n in removal.removedLineNumbers {
                    out += KnownHostsMessages.removed(host: self.host, lineNumber: n) + "\n"
                }
                let backup = KnownHostsMessages.backupPath(for: path)
                try KeyFileIO.replaceKeepingBackup(path: path, contents: removal.contents, backupPath: backup)
                out += KnownHostsMessages.updated(path: path) + "\n"
                out += KnownHostsMessages.originalRetained(backupPath: backup) + "\n"
                writeOut(out)
            }
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash",
            abstract: "Hash every plain host name (ssh-keygen -H); the old file is kept as FILE.old."
        )

        @OptionGroup var file: FileOption

        func run() throws {
            try reportingFailures {
                let path = self.file.path
                let hashing = try self.file.read().hashed()
                for w in hashing.wildcardLines {
                    printError(
                        KnownHostsMessages.ignoringWildcard(path: path, lineNumber: w.lineNumber, hosts: w.hosts)
                    )
                }
                guard hashing.isValid else {
                    for n in hashing.invalidLineNumbers {
                        printError(KnownHostsMessages.invalidLine(path: path, lineNumber: n))
                    }
                    printError(KnownHostsMessages.notValidFile(path: path))
                    throw Failure(KnownHostsMessages.notReplacing)
                }
                let backup = KnownHostsMessages.backupPath(for: path)
                try KeyFileIO.replaceKeepingBackup(path: path, contents: hashing.contents, backupPath: backup)
                writeOut(
                    KnownHostsMessages.updated(path: path) + "\n"
                        + KnownHostsMessages.originalRetained(backupPath: backup) + "\n"
                )
                if hashing.hadUnhashedEntries {
                    for line in KnownHostsMessages.unhashedWarning(backupPath: backup) { printError(line) }
                }
            }
        }
    }
}
