public import SSHKeys

#if canImport(Glibc)
import Glibc
#endif

/// Runs one command on the server and collects its output: an SSH connection's exec.
///
/// ``KeyDeploy`` needs nothing else from the connection, so tests can also drive it
/// through OpenSSH's `ssh`.
public protocol RemoteCommandRunner {
    /// Runs `command` with `stdin`, then EOF, and returns when it has ended.
    func run(_ command: String, stdin: [UInt8]) throws -> RemoteCommandResult

    /// Starts `command` with its input left open, so what is sent can depend on what it
    /// printed; nil when the runner cannot (the default). ``KeyDeploy`` then holds the remote
    /// lock from reading authorized_keys to replacing it, instead of compare-and-swap alone.
    func start(_ command: String) throws -> (any RemoteCommandSession)?
}

extension RemoteCommandRunner {
    public func start(_ command: String) throws -> (any RemoteCommandSession)? { nil }
}

/// A running remote command whose input is still open.
public protocol RemoteCommandSession {
    /// Waits for output and returns it; empty once the command's output has ended.
    func receive() throws -> [UInt8]
    /// Sends bytes to the command's input.
    func send(_ bytes: [UInt8]) throws
    /// Ends the input and waits for the command to exit; `stdout` holds the output not yet received.
    func finish() throws -> RemoteCommandResult
}

/// What a remote command produced.
public struct RemoteCommandResult: Sendable {
    /// The exit status, nil when the server sent none.
    public var exitStatus: Int32?
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(exitStatus: Int32?, stdout: [UInt8], stderr: [UInt8]) {
        self.exitStatus = exitStatus
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// An error from a deploy: one sentence (no final period) naming the file or host.
public struct KeyDeployError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The remote script failed or answered something unexpected.
        public static let remoteFailure = Code("remote failure")
        /// Another deploy held the lock for too long.
        public static let locked = Code("locked")
        /// The file kept changing under us.
        public static let conflict = Code("conflict")
        /// The key options are not valid authorized_keys options.
        public static let invalidKeyOptions = Code("invalid key options")
        /// The connection failed.
        public static let connection = Code("connection")

        public var description: String { self.name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
    public static func == (lhs: KeyDeployError, rhs: KeyDeployError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// Installs, lists and removes public keys in a remote account's authorized_keys over
/// keysmith's own SSH client: a few execs of ``RemoteScript`` on one connection.
///
/// The file is read and the change planned here; when something must be written, one more
/// command takes the remote lock, sends the file again, and keeps the lock while the new
/// contents are computed here and sent back (through a temporary file and a rename), so
/// concurrent deploys queue instead of retrying. A runner that cannot stream input (see
/// ``RemoteCommandRunner/start(_:)``) falls back to compare-and-swap: the server replaces the
/// file only if its checksum is still the one read; otherwise it is read again. Either way
/// concurrent deploys to one account never lose each other's keys, and every line that is not
/// added or removed stays byte for byte.
public enum KeyDeploy {
    /// The default target: `~/.ssh/authorized_keys`.
    public static let defaultTarget = ".ssh/authorized_keys"

    /// How often a changed file is read again before giving up.
    static let attempts = 32

    /// Waits a random 20–200 ms before reading a changed file again, so that many
    /// deploys racing for one account spread out instead of colliding in lockstep.
    static func backOff() {
        var pause = timespec(tv_sec: 0, tv_nsec: Int.random(in: 20_000_000...200_000_000))
        var left = timespec()
        while nanosleep(&pause, &left) != 0 && errno == EINTR { pause = left }
    }

    /// What the server reported about the file.
    public struct RemoteFile: Sendable {
        /// Whether the file exists.
        public var exists: Bool
        /// `cksum` of the file, or `absent`.
        public var checksum: String
        /// The paths sshd's StrictModes would refuse, each with `ls -l`'s mode string.
        public var unsafePaths: [(mode: String, path: String)]
        /// The file's bytes.
        public var contents: [UInt8]
    }

    /// What a copy did (or, in a dry run, would do).
    public struct CopyResult: Sendable {
        /// The lines added (or to be added), without newline.
        public var added: [String] = []
        /// The keys already present (skipped).
        public var alreadyPresent: [SSHPublicKey] = []
        /// `created PATH` and `repaired MODE PATH` reports from the server.
        public var created: [String] = []
        public var repaired: [(mode: String, path: String)] = []
        /// Whether the file lacked a final newline (one was added).
        public var addedFinalNewline = false
    }

    /// What a removal did (or would do).
    public struct RemoveResult: Sendable {
        /// The removed lines, with their 1-based line numbers in the file as read.
        public var removed: [(line: Int, text: String)] = []
        /// The keys that were not in the file.
        public var notFound: [SSHPublicKey] = []
    }

    /// One key in a remote authorized_keys.
    public struct ListedKey: Sendable {
        /// The 1-based line number.
        public var line: Int
        /// The options before the key, if any.
        public var options: String?
        public var key: SSHPublicKey
        public var comment: String?
    }

    // MARK: Operations

    /// Reads the target file with its checksum and the StrictModes problems on its path.
    public static func read(target: String = defaultTarget, over runner: some RemoteCommandRunner) throws -> RemoteFile
    {
        let result = try runner.run(RemoteScript.command("read", target: target), stdin: [])
        let out = result.stdout
        guard result.exitStatus == 0, let split = Self.headerEnd(out) else {
            throw Self.failure(result, doing: "read \(target)")
        }
        var file = RemoteFile(exists: false, checksum: "", unsafePaths: [], contents: Array(out[split.contents...]))
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
        guard !file.checksum.isEmpty else { throw Self.failure(result, doing: "read \(target)") }
        return file
    }

    /// Adds each of `lines` (`[options ]type base64 [comment]`) whose key is not yet in the
    /// target, unless `force`; creates the file and directory, repairs unsafe modes.
    /// With `dryRun` nothing is changed and the result says what would be.
    public static func copy(
        lines: [String],
        target: String = defaultTarget,
        force: Bool = false,
        dryRun: Bool = false,
        over runner: some RemoteCommandRunner
    ) throws -> CopyResult {
        try Self.copy(lines: lines, target: target, force: force, dryRun: dryRun, timing: .standard, over: runner)
    }

    /// ``copy(lines:target:force:dryRun:over:)`` with the lock's `timing`.
    static func copy(
        lines: [String],
        target: String = defaultTarget,
        force: Bool = false,
        dryRun: Bool = false,
        timing: LockTiming,
        over runner: some RemoteCommandRunner
    ) throws -> CopyResult {
        for _ in 0..<Self.attempts {
            let file = try Self.read(target: target, over: runner)
            let plan = Self.planCopy(lines: lines, into: file.contents, force: force)
            var result = plan.0
            let contents = plan.1
            let needsRepair = !file.unsafePaths.isEmpty
            if dryRun {
                result.addedFinalNewline = false
                result.repaired = file.unsafePaths
                return result
            }
            if result.added.isEmpty {
                if needsRepair { try Self.repair(target: target, into: &result, over: runner) }
                return result
            }
            // Something to write: plan again under the lock, held until the file is replaced.
            var reports = CopyResult()
            var planned = result
            let outcome = try Self.lockedEdit(target: target, timing: timing, over: runner, into: &reports) {
                contents in
                let (plan, new) = Self.planCopy(lines: lines, into: contents, force: force)
                planned = plan
                return plan.added.isEmpty ? nil : new
            }
            switch outcome {
            case .unsupported: break
            case .changed:
                Self.backOff()
                continue
            case .done:
                planned.created = reports.created
                planned.repaired = reports.repaired
                return planned
            }
            if try Self.write(
                contents,
                target: target,
                expected: file.checksum,
                timing: timing,
                into: &result,
                over: runner
            ) {
                return result
            }
            Self.backOff()
        }
        throw KeyDeployError(.conflict, "\(target) kept changing while keysmith tried to update it; try again")
    }

    /// Removes every line carrying one of `keys` (whatever its options or comment).
    public static func remove(
        keys: [SSHPublicKey],
        target: String = defaultTarget,
        dryRun: Bool = false,
        over runner: some RemoteCommandRunner
    ) throws -> RemoveResult {
        try Self.remove(keys: keys, target: target, dryRun: dryRun, timing: .standard, over: runner)
    }

    /// ``remove(keys:target:dryRun:over:)`` with the lock's `timing`.
    static func remove(
        keys: [SSHPublicKey],
        target: String = defaultTarget,
        dryRun: Bool = false,
        timing: LockTiming,
        over runner: some RemoteCommandRunner
    ) throws -> RemoveResult {
        for _ in 0..<Self.attempts {
            let file = try Self.read(target: target, over: runner)
            let (result, kept) = Self.planRemove(keys: keys, from: file.contents)
            if dryRun || result.removed.isEmpty { return result }
            var ignored = CopyResult()
            var removed = result
            let outcome = try Self.lockedEdit(target: target, timing: timing, over: runner, into: &ignored) {
                contents in
                let (plan, kept) = Self.planRemove(keys: keys, from: contents)
                removed = plan
                return plan.removed.isEmpty ? nil : kept
            }
            switch outcome {
            case .unsupported: break
            case .changed:
                Self.backOff()
                continue
            case .done: return removed
            }
            if try Self.write(
                kept,
                target: target,
                expected: file.checksum,
                timing: timing,
                into: &ignored,
                over: runner
            ) {
                return result
            }
            Self.backOff()
        }
        throw KeyDeployError(.conflict, "\(target) kept changing while keysmith tried to update it; try again")
    }

    /// The keys in the target file (lines keysmith cannot read are skipped).
    public static func list(target: String = defaultTarget, over runner: some RemoteCommandRunner) throws -> [ListedKey]
    {
        Self.listed(in: try Self.read(target: target, over: runner).contents)
    }

    // MARK: Planning (shared by the shell and SFTP paths)

    /// Which of `lines` go into `contents` (keys already there are skipped unless `force`),
    /// and the new file: every existing byte kept, a missing final newline added, then the
    /// added lines.
    package static func planCopy(lines: [String], into contents: [UInt8], force: Bool) -> (CopyResult, [UInt8]) {
        var result = CopyResult()
        var seen = Set(AuthorizedKeys.keyBlobs(in: contents))
        for line in lines {
            guard let key = AuthorizedKeys.keyBlob(ofLine: Substring(line)) else { continue }
            if !force && seen.contains(key) {
                if let k = try? SSHPublicKey(wireBlob: key) { result.alreadyPresent.append(k) }
                continue
            }
            seen.insert(key)
            result.added.append(line)
        }
        var contents = contents
        if !result.added.isEmpty, let last = contents.last, last != UInt8(ascii: "\n") {
            contents.append(UInt8(ascii: "\n"))
            result.addedFinalNewline = true
        }
        for line in result.added { contents += Array(line.utf8) + [UInt8(ascii: "\n")] }
        return (result, contents)
    }

    /// The lines of `contents` carrying one of `keys`, and the file without them (every other
    /// byte kept).
    package static func planRemove(keys: [SSHPublicKey], from contents: [UInt8]) -> (RemoveResult, [UInt8]) {
        let blobs = Set(keys.map(\.wireBlob))
        var result = RemoveResult()
        var kept: [UInt8] = []
        var found = Set<[UInt8]>()
        for (number, line) in AuthorizedKeys.lines(of: contents).enumerated() {
            let text = Substring(decoding: line.text, as: UTF8.self)
            if let blob = AuthorizedKeys.keyBlob(ofLine: text), blobs.contains(blob) {
                result.removed.append((number + 1, String(text)))
                found.insert(blob)
            } else {
                kept += line.text
                if line.hasNewline { kept.append(UInt8(ascii: "\n")) }
            }
        }
        result.notFound = keys.filter { !found.contains($0.wireBlob) }
        return (result, kept)
    }

    /// The keys in `contents` (lines keysmith cannot read are skipped).
    package static func listed(in contents: [UInt8]) -> [ListedKey] {
        var out: [ListedKey] = []
        for (number, line) in AuthorizedKeys.lines(of: contents).enumerated() {
            guard let parsed = SSHPublicKey.parseLine(Substring(decoding: line.text, as: UTF8.self)) else { continue }
            out.append(ListedKey(line: number + 1, options: parsed.prefix, key: parsed.key, comment: parsed.comment))
        }
        return out
    }

    // MARK: Internals

    /// Sends `contents` for the compare-and-swap; false when the file changed meanwhile.
    static func write(
        _ contents: [UInt8],
        target: String,
        expected: String,
        timing: LockTiming = .standard,
        into result: inout CopyResult,
        over runner: some RemoteCommandRunner
    ) throws -> Bool {
        let r = try runner.run(
            RemoteScript.command("write", target: target, extra: [expected], timing: timing),
            stdin: contents
        )
        var written = false
        var changed = false
        try Self.parseReports(r, into: &result, doing: "write \(target)") { word, rest in
            switch word {
            case "written": written = true
            case "changed": changed = true
            case "locked": throw Self.lockedError(rest)
            case "lost": throw Self.lostLockError(rest, target: target)
            default: break
            }
        }
        guard written || changed else { throw Self.failure(r, doing: "write \(target)") }
        return written
    }

    enum EditOutcome { case unsupported, changed, done }

    /// One read-modify-write under the remote lock (RemoteScript's `edit`): `change` gets the
    /// current contents and returns the new ones, or nil to keep the file as it is. The
    /// directory creation and mode repairs the server reports go into `result` first.
    /// - Returns: `.unsupported` when the runner cannot stream input, `.changed` when the file
    ///   was modified by something that ignored the lock (try again), `.done` otherwise.
    static func lockedEdit(
        target: String,
        timing: LockTiming = .standard,
        over runner: some RemoteCommandRunner,
        into result: inout CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> EditOutcome {
        guard let session = try runner.start(RemoteScript.command("edit", target: target, timing: timing)) else {
            return .unsupported
        }
        let doing = "edit \(target)"
        var out: [UInt8] = []
        var contentsStart = 0
        var size = 0
        while true {
            if let split = Self.headerEnd(out) {
                contentsStart = split.contents
                let header = String(decoding: out[..<split.header], as: UTF8.self)
                guard let cksum = header.split(separator: "\n").first(where: { $0.hasPrefix("cksum ") }) else {
                    throw KeyDeployError(.remoteFailure, "the server sent no checksum for \(target)")
                }
                let fields = cksum.split(separator: " ")
                size = fields.count == 3 ? Int(fields[2]) ?? -1 : 0
                guard size >= 0, size <= Self.maximumFileSize else {
                    throw KeyDeployError(.remoteFailure, "the server sent a malformed checksum for \(target)")
                }
                if out.count - contentsStart >= size { break }
            }
            let chunk = try session.receive()
            if chunk.isEmpty {
                // The script ended before sending the file: locked or failed.
                var r = try session.finish()
                r.stdout = out + r.stdout
                try Self.parseReports(r, into: &result, doing: doing) { word, rest in
                    if word == "locked" { throw Self.lockedError(rest) }
                }
                throw Self.failure(r, doing: doing)
            }
            out += chunk
            guard out.count <= contentsStart + Self.maximumFileSize + 64 * 1024 else {
                throw KeyDeployError(.remoteFailure, "the server sent more than expected for \(target)")
            }
        }
        let header = RemoteCommandResult(exitStatus: 0, stdout: Array(out[..<contentsStart]), stderr: [])
        try Self.parseReports(header, into: &result, doing: doing) { _, _ in }
        let contents = Array(out[contentsStart..<contentsStart + size])
        guard let new = try change(contents) else {
            try session.send(Array("keep\n".utf8))
            _ = try session.finish()
            return .done
        }
        try session.send(Array("write \(new.count)\n".utf8) + new)
        var r = try session.finish()
        r.stdout = Array(out[(contentsStart + size)...]) + r.stdout
        var written = false
        var changed = false
        try Self.parseReports(r, into: &result, doing: doing) { word, rest in
            if word == "written" { written = true }
            if word == "changed" { changed = true }
            if word == "lost" { throw Self.lostLockError(rest, target: target) }
        }
        if changed { return .changed }
        guard written else { throw Self.failure(r, doing: doing) }
        return .done
    }

    /// The largest authorized_keys keysmith edits (sshd itself reads any size, but a file
    /// this large is not a key list).
    static let maximumFileSize = 16 * 1024 * 1024

    static func lockedError(_ lock: some StringProtocol) -> KeyDeployError {
        KeyDeployError(
            .locked,
            "another deploy has held the lock \(lock) for a minute; if none is running, remove that directory and try again"
        )
    }

    /// The holder's lock was taken over before its final rename: nothing was written.
    static func lostLockError(_ lock: some StringProtocol, target: String) -> KeyDeployError {
        KeyDeployError(
            .locked,
            "another deploy took over the lock \(lock) while this one was working, so \(target) was left unchanged; try again"
        )
    }

    static func repair(target: String, into result: inout CopyResult, over runner: some RemoteCommandRunner) throws {
        let r = try runner.run(RemoteScript.command("repair", target: target), stdin: [])
        try Self.parseReports(r, into: &result, doing: "repair \(target)") { _, _ in }
        guard r.exitStatus == 0 else { throw Self.failure(r, doing: "repair \(target)") }
    }

    static func parseReports(
        _ r: RemoteCommandResult,
        into result: inout CopyResult,
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
