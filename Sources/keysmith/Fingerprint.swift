import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys

struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fingerprint",
        abstract: "Show the fingerprints of the keys in a file (ssh-keygen -l).",
        discussion: """
            FILE may be a public key, a private key (its FILE.pub is used for the \
            comment when present), an authorized_keys or a known_hosts file; one \
            line is printed per key, exactly as ssh-keygen -l prints it. Use - for \
            standard input.

            Each line that holds no key keysmith lists (a key type it does not read, a \
            damaged key, a known_hosts @cert-authority or @revoked line, text) is named \
            on standard error, one sentence with the file and line number, where \
            ssh-keygen -l passes over it in silence. Blank lines, # comments and SSH-1 \
            keys (bits exponent modulus), which ssh-keygen skips by rule, are not named.
            """
    )

    enum HashName: String, ExpressibleByArgument, CaseIterable {
        case sha256, md5
    }

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("Key file, authorized_keys or known_hosts ('-' for standard input).", valueName: "file")
    )
    var file: String

    @Option(
        name: .customShort("E", allowingJoined: true),
        help: ArgumentHelp("Fingerprint hash: sha256 (default) or md5.", valueName: "hash")
    )
    var hash: HashName = .sha256

    @Flag(name: .customShort("v"), help: "Also draw the key's randomart.")
    var visual = false

    @Flag(name: .customShort("B"), help: "Print the bubblebabble digest instead.")
    var bubbleBabble = false

    @Flag(
        help:
            "Print a JSON array of {bits, fingerprint, comment, type}, with legacy (DSA), application (security keys) and certificate details where they apply."
    )
    var json = false

    func run() throws {
        try reportingFailures {
            let path = self.file == "-" ? "(stdin)" : expandTilde(self.file)
            let contents = self.file == "-" ? try readStandardInput() : try KeyFileIO.readFile(path)
            let function: HashFunction = self.hash == .md5 ? .md5 : .sha256
            writeOut(try self.listing(contents, path: path, function: function, reportSkipped: true))
        }
    }

    /// What `run` prints for `contents` read from `path`: a line per key (or JSON). Lines
    /// without a key are named on stderr when `reportSkipped` is set, as ssh-keygen does not.
    /// - Throws: `Failure` when the file holds no key.
    func listing(_ contents: [UInt8], path: String, function: HashFunction, reportSkipped: Bool) throws -> String {
        if !self.json, KeyFileKind(contents: contents) == .publicKeyLines {
            var skipped: [UnreadableKeyLine] = []
            let out = self.fingerprintLines(contents, function: function, skipped: &skipped)
            guard let out else { throw Self.noKey(in: path, skipped: skipped) }
            if reportSkipped { Self.report(skipped, in: path) }
            return out
        }
        let entries = try self.keys(in: contents, path: path, reportSkipped: reportSkipped)
        var out = ""
        var objects: [JSON] = []
        for (key, comment) in entries {
            let fp = key.fingerprint(function)
            let shown = self.bubbleBabble ? key.fingerprint(.sha1).bubbleBabble : fp.description
            if self.json {
                objects.append(
                    .object(
                        [
                            ("bits", .int(key.bits)), ("fingerprint", .string(shown)),
                            ("comment", .string(orNull: comment.map { String(decoding: $0, as: UTF8.self) })),
                            ("type", .string(key.type.displayName)),
                        ] + Self.details(of: key)
                    )
                )
                continue
            }
            self.appendLine(for: key, comment: comment, function: function, to: &out)
        }
        if self.json { out = JSON.array(objects).text + "\n" }
        return out
    }

    private func fingerprintLines(
        _ contents: [UInt8],
        function: HashFunction,
        skipped: inout [UnreadableKeyLine]
    ) -> String? {
        var out = ""
        out.reserveCapacity(contents.count + contents.count / 4)
        var reader = KeygenLineReader()
        var found = false
        var start = contents.startIndex
        var number = 0
        while start < contents.endIndex {
            let end = contents[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? contents.endIndex
            number += 1
            if let entry = reader.read(line: contents[start..<end]) {
                found = true
                self.appendLine(for: entry.key, comment: entry.comment, function: function, to: &out)
            } else if let problem = UnreadableKeyLine.diagnose(contents[start..<end], lineNumber: number),
                problem.kind != .ssh1Key
            {
                skipped.append(problem)
            }
            start = end
        }
        return found ? out : nil
    }

    /// The failure when `path` lists no key: ssh-keygen's sentence, with why its first line
    /// that is not blank, a comment or an SSH-1 key holds none (a failure is one sentence).
    private static func noKey(in path: String, skipped: [UnreadableKeyLine]) -> Failure {
        guard let first = skipped.first else { return Failure("\(path) is not a public key file") }
        let others = skipped.count - 1
        let more = others == 0 ? "" : " (and \(others) more line\(others == 1 ? "" : "s") without a key)"
        return Failure("\(path) is not a public key file: line \(first.lineNumber): \(first.reason)\(more)")
    }

    /// One sentence on stderr per line of `path` that holds no key listed.
    private static func report(_ skipped: [UnreadableKeyLine], in path: String) {
        for line in skipped {
            printError("keysmith: \(path):\(line.lineNumber): not listed: \(line.reason).")
        }
    }

    /// What `--json` adds for the types that have more to say: `legacy` for DSA (OpenSSH
    /// accepts it nowhere by default), a security key's `application`, and a certificate's
    /// kind, key ID, serial, principals, validity (seconds since the epoch; 2^64 − 1 is
    /// forever) and the fingerprint of the CA key that signed it.
    private static func details(of key: SSHPublicKey) -> [(String, JSON)] {
        var out: [(String, JSON)] = []
        if key.type.isLegacy { out.append(("legacy", .bool(true))) }
        if let application = key.application { out.append(("application", .string(application))) }
        if let certificate = key.certificate {
            out.append(
                (
                    "certificate",
                    .object([
                        ("kind", .string(certificate.kind == .host ? "host" : "user")),
                        ("keyID", .string(certificate.keyID)), ("serial", .uint64(certificate.serial)),
                        ("principals", .array(certificate.principals.map { .string($0) })),
                        ("validAfter", .uint64(certificate.validAfter)),
                        ("validBefore", .uint64(certificate.validBefore)),
                        ("signatureKey", .string(certificate.signatureKey.fingerprint().description)),
                    ])
                )
            )
        }
        return out
    }

    /// Appends ssh-keygen -l's line for `key` (and its randomart with -v) to `out`.
    private func appendLine(
        for key: SSHPublicKey,
        comment: ArraySlice<UInt8>?,
        function: HashFunction,
        to out: inout String
    ) {
        let fp = key.fingerprint(function)
        out += String(key.bits)
        out += " "
        out += self.bubbleBabble ? key.fingerprint(.sha1).bubbleBabble : fp.description
        out += " "
        if let comment {
            appendEscapedForTerminal(comment, to: &out)
        } else {
            out += "no comment"
        }
        out += " ("
        out += key.type.displayName
        out += ")\n"
        if self.visual {
            out += fp.randomArt(title: "\(key.type.displayName) \(key.bits)") + "\n"
        }
    }

    /// The keys and comments ssh-keygen -l would list for `contents`.
    private func keys(
        in contents: [UInt8],
        path: String,
        reportSkipped: Bool
    ) throws -> [(SSHPublicKey, ArraySlice<UInt8>?)] {
        let kind = KeyFileKind(contents: contents)
        if (kind == .openSSHPrivateKey || kind == .pemPrivateKey) && self.file != "-" {
            return [try self.privateKeyFile(contents, path: path)]
        }
        let skipped = kind == .publicKeyLines ? Self.unreadableLines(in: contents) : []
        let found: [(SSHPublicKey, ArraySlice<UInt8>?)]
        do {
            found = try SSHPublicKey.keys(inFile: contents).map { line in
                (line.key, (line.comment ?? line.prefix).map { Array($0.utf8)[...] })
            }
        } catch {
            throw Self.noKey(in: path, skipped: skipped)
        }
        if reportSkipped { Self.report(skipped, in: path) }
        return found
    }

    /// The lines of a file of key lines in which `SSHPublicKey.keys(inFile:)` finds no key,
    /// but for blank lines, `#` comments and SSH-1 keys.
    private static func unreadableLines(in contents: [UInt8]) -> [UnreadableKeyLine] {
        var out: [UnreadableKeyLine] = []
        for (index, line) in contents.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated()
        where SSHPublicKey.parseLine(Substring(decoding: line, as: UTF8.self)) == nil {
            if let problem = UnreadableKeyLine.diagnose(line, lineNumber: index + 1), problem.kind != .ssh1Key {
                out.append(problem)
            }
        }
        return out
    }

    /// As ssh-keygen's fingerprint_private: the key and comment of FILE.pub's first key
    /// line (a key line without a comment gives the name FILE.pub, as sshkey_load_public
    /// does), else the file's own clear public part with the private key's comment when
    /// it opens without a passphrase (a PEM key has none).
    private func privateKeyFile(_ contents: [UInt8], path: String) throws -> (SSHPublicKey, ArraySlice<UInt8>?) {
        let pubPath = path + ".pub"
        var key: SSHPublicKey? = nil
        var comment: ArraySlice<UInt8>? = nil
        if let pub = try? KeyFileIO.readFile(pubPath), let line = KeygenLineReader.firstKey(inPublicKeyFile: pub) {
            key = line.key
            comment = line.comment.isEmpty ? Array(pubPath.utf8)[...] : line.comment
        }
        if comment == nil {
            if key == nil { key = SSHPublicKey.fromPrivateKeyFile(contents) }
            if let priv = try? SSHPrivateKey(fileContents: contents, passphrase: nil) {
                if key == nil { key = priv.publicKey }
                comment = KeyFileKind(contents: contents) == .openSSHPrivateKey ? Array(priv.comment.utf8)[...] : nil
            }
        }
        guard let key else {
            throw Failure("\(path) is not a key file, or is encrypted without a \(path).pub beside it")
        }
        return (key, comment)
    }
}
