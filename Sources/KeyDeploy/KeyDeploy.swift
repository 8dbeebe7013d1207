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
        /// The remote shell did not run keysmith's script at all (not a POSIX shell, no
        /// shell, or a forced command): nothing was read or changed.
        public static let shellUnusable = Code("shell unusable")

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

/// Installs, lists and removes public keys in a remote account's authorized_keys: the
/// results and plans every ``AuthorizedKeysStore`` shares, and the operations over the
/// remote shell (``ShellAuthorizedKeysStore``) in the form a ``RemoteCommandRunner`` takes.
/// Concurrent deploys to one account never lose each other's keys, and every line that is
/// not added or removed stays byte for byte.
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

    /// What a store read: the file and what the server reported about it.
    public struct RemoteFile: Sendable {
        /// Whether the file exists.
        public var exists: Bool
        /// What identifies this version of the file: `cksum` of it over the shell (the
        /// compare-and-swap of a runner that cannot stream), its size over SFTP; `absent`.
        public var checksum: String
        /// The paths sshd's StrictModes would refuse, each with `ls -l`'s mode string.
        public var unsafePaths: [(mode: String, path: String)]
        /// The file's bytes.
        public var contents: [UInt8]

        public init(
            exists: Bool,
            checksum: String,
            unsafePaths: [(mode: String, path: String)] = [],
            contents: [UInt8]
        ) {
            self.exists = exists
            self.checksum = checksum
            self.unsafePaths = unsafePaths
            self.contents = contents
        }
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

        /// Whether the line is a `cert-authority` line: its key is a certificate authority's,
        /// and sshd lets in the user certificates it signed.
        public var isCertificateAuthority: Bool { self.parsedOptions?.isCertificateAuthority ?? false }

        /// The principals of a `cert-authority` line's `principals="…"` option, nil without one.
        public var principals: [String]? {
            guard self.isCertificateAuthority, let list = self.parsedOptions?.principals else { return nil }
            return list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }

        /// The options as sshd reads them; nil when there are none or sshd would refuse them.
        private var parsedOptions: AuthorizedKeyOptions? {
            self.options.flatMap { try? AuthorizedKeyOptions(parsing: $0) }
        }
    }

    /// Every line of a remote authorized_keys that is not blank or a `#` comment: the keys
    /// keysmith reads, and the lines it cannot read (an SSH-1 key, a key type it does not
    /// know, a damaged key), each with its line number and why, so that a listing never
    /// shows fewer keys than the file holds.
    public struct Listing: Sendable {
        /// The keys, in file order.
        public var keys: [ListedKey] = []
        /// The lines holding no key keysmith reads, in file order.
        public var unreadable: [UnreadableKeyLine] = []
    }

    // MARK: Operations over a runner (``ShellAuthorizedKeysStore``)

    /// Reads the target file with its checksum and the StrictModes problems on its path.
    public static func read(target: String = defaultTarget, over runner: some RemoteCommandRunner) throws -> RemoteFile
    {
        try ShellAuthorizedKeysStore(target: target, over: runner).read()
    }

    /// Adds each of `lines` (`[options ]type base64 [comment]`) whose key is not yet in the
    /// target, unless `force` (``AuthorizedKeysStore/copy(lines:force:dryRun:)``).
    public static func copy(
        lines: [String],
        target: String = defaultTarget,
        force: Bool = false,
        dryRun: Bool = false,
        over runner: some RemoteCommandRunner
    ) throws -> CopyResult {
        try ShellAuthorizedKeysStore(target: target, over: runner).copy(lines: lines, force: force, dryRun: dryRun)
    }

    /// Removes every line carrying one of `keys` (``AuthorizedKeysStore/remove(keys:dryRun:)``).
    public static func remove(
        keys: [SSHPublicKey],
        target: String = defaultTarget,
        dryRun: Bool = false,
        over runner: some RemoteCommandRunner
    ) throws -> RemoveResult {
        try ShellAuthorizedKeysStore(target: target, over: runner).remove(keys: keys, dryRun: dryRun)
    }

    /// The keys in the target file (lines keysmith cannot read are skipped).
    public static func list(target: String = defaultTarget, over runner: some RemoteCommandRunner) throws -> [ListedKey]
    {
        try ShellAuthorizedKeysStore(target: target, over: runner).list()
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

    /// The keys in `contents`, and the lines keysmith cannot read.
    package static func listing(of contents: [UInt8]) -> Listing {
        var out = Listing()
        for (number, line) in AuthorizedKeys.lines(of: contents).enumerated() {
            guard let parsed = SSHPublicKey.parseLine(Substring(decoding: line.text, as: UTF8.self)) else {
                if let problem = UnreadableKeyLine.diagnose(line.text, lineNumber: number + 1) {
                    out.unreadable.append(problem)
                }
                continue
            }
            out.keys.append(
                ListedKey(line: number + 1, options: parsed.prefix, key: parsed.key, comment: parsed.comment)
            )
        }
        return out
    }

    /// The keys in `contents` (``listing(of:)`` without the lines keysmith cannot read).
    package static func listed(in contents: [UInt8]) -> [ListedKey] { Self.listing(of: contents).keys }
    // MARK: Errors and limits shared by the stores

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
}
