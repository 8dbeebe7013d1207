/// The ``AuthorizedKeysStore`` over the remote shell: each step is an exec of
/// ``RemoteScript`` on one connection.
///
/// The file is read and the change planned here; to replace it, one more command takes the
/// remote lock, sends the file again, and keeps the lock while the new contents are computed
/// here and sent back (through a temporary file and a rename), so concurrent deploys queue
/// instead of retrying. A runner that cannot stream input (see
/// ``RemoteCommandRunner/start(_:)``) falls back to compare-and-swap: the server replaces the
/// file only if its checksum is still the one read; otherwise it is read again.
public struct ShellAuthorizedKeysStore<Runner: RemoteCommandRunner>: AuthorizedKeysStore {
    public let target: String
    let runner: Runner
    let timing: LockTiming

    /// The store for `target` over `runner`.
    public init(target: String = KeyDeploy.defaultTarget, over runner: Runner) {
        self.init(target: target, timing: .current, over: runner)
    }

    init(target: String = KeyDeploy.defaultTarget, timing: LockTiming, over runner: Runner) {
        self.target = target
        self.runner = runner
        self.timing = timing
    }

    public func read() throws -> KeyDeploy.RemoteFile {
        let result = try self.runner.run(RemoteScript.command("read", target: self.target), stdin: [])
        let out = result.stdout
        // The script's `read` prints `exists` first, whatever else happens: output that does
        // not begin so comes from something other than the script.
        guard out.starts(with: Array("exists ".utf8)) else {
            let failure = Self.failure(result, doing: "read \(self.target)")
            throw KeyDeployError(.shellUnusable, failure.message)
        }
        guard result.exitStatus == 0, let split = Self.headerEnd(out) else {
            throw Self.failure(result, doing: "read \(self.target)")
        }
        var file = KeyDeploy.RemoteFile(
            exists: false,
            checksum: "",
            unsafePaths: [],
            contents: Array(out[split.contents...])
        )
        for line in String(decoding: out[..<split.header], as: UTF8.self).split(separator: "\n") {
            let (word, rest) = Self.word(line)
            switch word {
            case "exists": file.exists = rest == "1"
            case "cksum": file.checksum = String(rest)
            case "unsafe":
                let (mode, path) = Self.word(rest)
                file.unsafePaths.append((String(mode), String(path)))
            default: break
            }
        }
        guard !file.checksum.isEmpty else { throw Self.failure(result, doing: "read \(self.target)") }
        return file
    }

    public func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws {
        let r = try self.runner.run(RemoteScript.command("repair", target: self.target), stdin: [])
        try Self.parseReports(r, into: &reports, doing: "repair \(self.target)") { _, _ in }
        guard r.exitStatus == 0 else { throw Self.failure(r, doing: "repair \(self.target)") }
    }

    public func replace(
        _ file: KeyDeploy.RemoteFile,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool {
        if let session = try self.runner.start(RemoteScript.command("edit", target: self.target, timing: self.timing)) {
            return try self.edit(session, into: &reports, change: change)
        }
        guard let new = try change(file.contents) else { return true }
        return try self.write(new, expected: file.checksum, into: &reports)
    }

    /// Sends `contents` for the compare-and-swap (RemoteScript's `write`); false when the
    /// file changed meanwhile.
    func write(_ contents: [UInt8], expected: String, into reports: inout KeyDeploy.CopyResult) throws -> Bool {
        let r = try self.runner.run(
            RemoteScript.command("write", target: self.target, extra: [expected], timing: self.timing),
            stdin: contents
        )
        var written = false
        var changed = false
        try Self.parseReports(r, into: &reports, doing: "write \(self.target)") { word, rest in
            switch word {
            case "written": written = true
            case "changed": changed = true
            case "locked": throw KeyDeploy.lockedError(rest)
            case "lost": throw KeyDeploy.lostLockError(rest, target: self.target)
            default: break
            }
        }
        guard written || changed else { throw Self.failure(r, doing: "write \(self.target)") }
        return written
    }

    /// One read-modify-write under the remote lock (RemoteScript's `edit`): `change` gets the
    /// contents read under the lock and returns the new ones, or nil to keep the file as it
    /// is. The directory creation and mode repairs the server reports go into `reports` first.
    /// - Returns: false when the file was modified by something that ignored the lock.
    func edit(
        _ session: any RemoteCommandSession,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool {
        let doing = "edit \(self.target)"
        var out: [UInt8] = []
        var contentsStart = 0
        var size = 0
        while true {
            if let split = Self.headerEnd(out) {
                contentsStart = split.contents
                let header = String(decoding: out[..<split.header], as: UTF8.self)
                guard let cksum = header.split(separator: "\n").first(where: { $0.hasPrefix("cksum ") }) else {
                    throw KeyDeployError(.remoteFailure, "the server sent no checksum for \(self.target)")
                }
                let fields = cksum.split(separator: " ")
                size = fields.count == 3 ? Int(fields[2]) ?? -1 : 0
                guard size >= 0, size <= KeyDeploy.maximumFileSize else {
                    throw KeyDeployError(.remoteFailure, "the server sent a malformed checksum for \(self.target)")
                }
                if out.count - contentsStart >= size { break }
            }
            let chunk = try session.receive()
            if chunk.isEmpty {
                // The script ended before sending the file: locked or failed.
                var r = try session.finish()
                r.stdout = out + r.stdout
                try Self.parseReports(r, into: &reports, doing: doing) { word, rest in
                    if word == "locked" { throw KeyDeploy.lockedError(rest) }
                }
                throw Self.failure(r, doing: doing)
            }
            out += chunk
            guard out.count <= contentsStart + KeyDeploy.maximumFileSize + 64 * 1024 else {
                throw KeyDeployError(.remoteFailure, "the server sent more than expected for \(self.target)")
            }
        }
        let header = RemoteCommandResult(exitStatus: 0, stdout: Array(out[..<contentsStart]), stderr: [])
        try Self.parseReports(header, into: &reports, doing: doing) { _, _ in }
        let contents = Array(out[contentsStart..<contentsStart + size])
        guard let new = try change(contents) else {
            try session.send(Array("keep\n".utf8))
            _ = try session.finish()
            return true
        }
        try session.send(Array("write \(new.count)\n".utf8) + new)
        var r = try session.finish()
        r.stdout = Array(out[(contentsStart + size)...]) + r.stdout
        var written = false
        var changed = false
        try Self.parseReports(r, into: &reports, doing: doing) { word, rest in
            if word == "written" { written = true }
            if word == "changed" { changed = true }
            if word == "lost" { throw KeyDeploy.lostLockError(rest, target: self.target) }
        }
        if changed { return false }
        guard written else { throw Self.failure(r, doing: doing) }
        return true
    }

    static func parseReports(
        _ r: RemoteCommandResult,
        into result: inout KeyDeploy.CopyResult,
        doing what: String,
        other: (Substring, Substring) throws -> Void
    ) throws {
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            let (word, rest) = Self.word(line)
            switch word {
            case "created": result.created.append(String(rest))
            case "repaired":
                let (mode, path) = Self.word(rest)
                result.repaired.append((String(mode), String(path)))
            case "failed":
                throw KeyDeployError(.remoteFailure, "the server could not \(rest)" + Self.stderrSuffix(r))
            default: try other(word, rest)
            }
        }
    }

    static func failure(_ r: RemoteCommandResult, doing what: String) -> KeyDeployError {
        let status = r.exitStatus.map { "exit status \($0)" } ?? "no exit status"
        return KeyDeployError(.remoteFailure, "the remote shell failed to \(what) (\(status))" + Self.stderrSuffix(r))
    }

    static func stderrSuffix(_ r: RemoteCommandResult) -> String {
        let text = String(decoding: r.stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return text.isEmpty ? "" : ": \(text)"
    }

    /// The end of the header (`--\n`) and the start of the contents in a `read` reply.
    static func headerEnd(_ out: [UInt8]) -> (header: Int, contents: Int)? {
        let marker = Array("--\n".utf8)
        var start = 0
        while start <= out.count - marker.count {
            if Array(out[start..<start + marker.count]) == marker { return (start, start + marker.count) }
            guard let nl = out[start...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            start = nl + 1
        }
        return nil
    }

    static func word(_ s: Substring) -> (Substring, Substring) {
        guard let sp = s.firstIndex(of: " ") else { return (s, "") }
        return (s[..<sp], s[s.index(after: sp)...])
    }
}
