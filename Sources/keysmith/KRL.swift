import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct KRLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "krl",
        abstract: "Create, update and check key revocation lists (ssh-keygen -k / -k -u / -Q).",
        discussion: """
            A key revocation list (KRL) is OpenSSH's compact binary list of revoked keys and \
            certificates, which sshd reads from its RevokedKeys file. keysmith writes the \
            same bytes ssh-keygen -k writes for the same input (only the generated date \
            differs), and reads every KRL OpenSSH reads.
            """,
        subcommands: [Create.self, Update.self, Check.self]
    )

    /// The options of `create` and `update`, which are ssh-keygen -k's.
    struct BuildOptions: ParsableArguments {
        @Option(name: .customShort("f", allowingJoined: true), help: ArgumentHelp("The KRL file.", valueName: "krl"))
        var file: String

        @Option(
            name: .customShort("s", allowingJoined: true),
            help: ArgumentHelp(
                "CA public key of serial: and id: lines; none: they apply to certificates of any CA.",
                valueName: "ca.pub"
            )
        )
        var authority: String?

        @Option(
            name: .customShort("z", allowingJoined: true),
            help: ArgumentHelp("The KRL's version number.", valueName: "version")
        )
        var version: String?

        @Option(
            name: .customShort("C", allowingJoined: true),
            help: ArgumentHelp("The KRL's comment.", valueName: "comment")
        )
        var comment: String?

        @Flag(name: .customShort("q"), help: "Do not print the name of each file read.")
        var quiet = false

        @Argument(
            help: ArgumentHelp("Revocation spec files or public key files; - reads standard input.", valueName: "file")
        )
        var files: [String] = []

        /// ssh-keygen.c do_gen_krl, after its checks: read (when updating), revoke, write.
        func run(updating: Bool) throws {
            try reportingFailures {
                let path = expandTilde(self.file)
                var version: UInt64? = nil
                if let text = self.version {
                    // ssh-keygen's -z: decimal digits only.
                    guard let first = text.utf8.first, (0x30...0x39).contains(first), let value = UInt64(text) else {
                        throw Failure("Invalid serial number \"\(text)\"")
                    }
                    version = value
                }
                try Self.build(
                    path: path,
                    updating: updating,
                    authority: self.authority,
                    version: version,
                    comment: self.comment,
                    files: self.files,
                    quiet: self.quiet
                )
            }
        }

        /// The name a revocation file is read from and reported by: its path, tilde expanded,
        /// or (standard input) for -.
        static func specName(_ file: String) -> String { file == "-" ? "(standard input)" : expandTilde(file) }

        /// Reads the KRL at PATH (when updating), revokes what FILES list under AUTHORITY
        /// (a CA public key file, or none for any CA), and writes it back atomically, keeping
        /// its mode; each file named on standard output unless QUIET.
        static func build(
            path: String,
            updating: Bool,
            authority authorityPath: String?,
            version: UInt64?,
            comment: String?,
            files: [String],
            quiet: Bool
        ) throws {
            let existingMode = try? KeyFileIO.mode(of: path)
            if updating && existingMode == nil && !KeyFileIO.fileExists(path) {
                throw Failure("KRL \"\(path)\" does not exist")
            }
            var authority: SSHPublicKey? = nil
            var anyAuthority = false
            if let ca = authorityPath {
                if ca.lowercased() == "none" {
                    anyAuthority = true
                } else {
                    let caPath = expandTilde(ca)
                    authority = try loadPublicKey(caPath, what: "CA public key").key
                }
            }
            var krl = KeyRevocationList()
            if updating { krl = try readKRL(path) }
            if let version, version != 0 { krl.version = version }
            if let comment { krl.comment = comment }
            for file in files {
                let specPath = Self.specName(file)
                let text = file == "-" ? try readStandardInput() : try KeyFileIO.readFile(specPath)
                if !quiet { writeOut("Revoking from \(specPath)\n") }
                try krl.update(fromSpec: text, named: specPath, authority: authority, anyAuthority: anyAuthority)
            }
            let bytes = try krl.serialized()
            let mode = existingMode.map { $0 & 0o7777 } ?? 0o644
            try KeyFileIO.writeAtomically(path: path, contents: bytes, mode: mode, overwrite: true)
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Write a new KRL revoking what the files list (ssh-keygen -k).",
            discussion: """
                Each FILE is a revocation spec or a public key file, read as ssh-keygen -k reads \
                it. A spec line is one of: serial: N or serial: N-M (certificates by serial \
                under the -s CA; decimal, 0x hex or 0 octal), id: KEYID (certificates by key ID \
                under the -s CA), key: PUBLICKEY (a key, or a certificate's key, explicitly), \
                sha1: PUBLICKEY and sha256: PUBLICKEY (a key by the hash of its blob), hash: \
                SHA256:BASE64 (a hash as keysmith fingerprint prints it), or a public key line \
                (a key explicitly; a certificate by its serial, or by its key ID when its serial \
                is 0, under its own CA). Prefixes are matched in any case; # starts a comment; \
                blank lines are skipped. -s none makes serial: and id: lines apply to \
                certificates of every CA.

                The file is replaced atomically, and left as it was when any line is refused.
                """
        )

        @OptionGroup var options: BuildOptions

        func run() throws { try self.options.run(updating: false) }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Add what the files list to an existing KRL (ssh-keygen -k -u).",
            discussion: """
                FILE arguments are read as krl create reads them. The KRL keeps its generated \
                date, as ssh-keygen -k -u keeps it. The file is replaced atomically, and left as \
                it was when it is not a valid KRL or any line is refused.
                """
        )

        @OptionGroup var options: BuildOptions

        func run() throws { try self.options.run(updating: true) }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Tell whether a KRL revokes each key (ssh-keygen -Q).",
            discussion: """
                Prints FILE (COMMENT): ok or FILE (COMMENT): REVOKED for each key, as ssh-keygen -Q \
                does, and exits 1 when any key is revoked. A certificate is revoked by its serial or \
                key ID under its CA or under any CA, by its key, or by its CA key. -l first lists \
                the KRL as ssh-keygen -Q -l lists it, in the spec format where there is one.
                """
        )

        @Option(name: .customShort("f", allowingJoined: true), help: ArgumentHelp("The KRL file.", valueName: "krl"))
        var file: String

        @Flag(name: .customShort("l"), help: "List the KRL's contents first.")
        var list = false

        @Argument(help: ArgumentHelp("Public key or certificate files.", valueName: "key"))
        var keys: [String] = []

        func run() throws {
            var revoked = false
            try reportingFailures {
                let krl = try readKRL(expandTilde(self.file))
                if self.list { writeOut(listing(of: krl)) }
                for name in self.keys {
                    let (key, comment) = try loadPublicKey(name, what: "public key")
                    let isRevoked = krl.isRevoked(key)
                    writeOut(Self.line(name: name, comment: comment, revoked: isRevoked))
                    if isRevoked { revoked = true }
                }
            }
            if revoked { throw ExitCode(1) }
        }

        /// ssh-keygen -Q's line for one key: "FILE (COMMENT): ok" or "FILE (COMMENT): REVOKED".
        static func line(name: String, comment: [UInt8]?, revoked: Bool) -> String {
            var line = Array(name.utf8)
            if let comment, !comment.isEmpty { line += Array(" (".utf8) + comment + Array(")".utf8) }
            line += Array((revoked ? ": REVOKED\n" : ": ok\n").utf8)
            return String(decoding: line, as: UTF8.self)
        }
    }
}

extension KRLCommand: CommandGroup {}

/// ssh-keygen.c load_krl.
private func readKRL(_ path: String) throws -> KeyRevocationList {
    let bytes = try KeyFileIO.readFile(path)
    do {
        return try KeyRevocationList(bytes: bytes)
    } catch {
        throw Failure("Invalid KRL file \(path): \(error.message)")
    }
}

/// authfile.c sshkey_load_public: the first key line of FILE, else of FILE.pub, else the
/// public part of the private key FILE. The comment is the line's (or the name of the
/// file the key came from when the line has none); a private key gives none.
func loadPublicKey(_ path: String, what: String) throws -> (key: SSHPublicKey, comment: [UInt8]?) {
    for candidate in [path, path + ".pub"] {
        if let contents = try? KeyFileIO.readFile(candidate),
            let found = KeygenLineReader.firstKey(inPublicKeyFile: contents)
        {
            return (found.key, found.comment.isEmpty ? Array(candidate.utf8) : Array(found.comment))
        }
    }
    if let contents = try? KeyFileIO.readFile(path), let key = SSHPublicKey.fromPrivateKeyFile(contents) {
        return (key, nil)
    }
    throw Failure("Cannot load \(what) \(path): it holds no public key, and neither does \(path).pub")
}
