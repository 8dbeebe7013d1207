public import SSHKeys
public import SSHProtocol

/// One account's authorized_keys as keysmith edits it: read it, repair the modes sshd's
/// StrictModes refuses, and replace it atomically under the lock (``DeployLock``) if it did
/// not change meanwhile. Two stores implement it, chosen once per host:
/// ``ShellAuthorizedKeysStore`` (a POSIX sh script over exec) and ``SFTPAuthorizedKeysStore``
/// (the sftp subsystem, `-s`). Everything above them (``copy(lines:force:dryRun:)``,
/// ``remove(keys:dryRun:)``, ``list()``, ``KeyRotation``) is written once, over this protocol.
public protocol AuthorizedKeysStore {
    /// The file as given: a path relative to the home directory, or absolute.
    var target: String { get }

    /// Reads the file, with what identifies this version of it and the paths StrictModes
    /// would refuse.
    func read() throws -> KeyDeploy.RemoteFile

    /// Creates the file's directory (0700) when missing and clears group and other write
    /// bits on the unsafe paths, reporting each into `reports`.
    func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws

    /// Under the lock, replaces the file with what `change` makes of its contents (nil:
    /// leave it), having repaired the modes first (reported into `reports`).
    ///
    /// `change` gets the file as the store holds it under the lock: a store that reads under
    /// the lock passes what it read there, so deploys queued behind one another plan against
    /// each other's results instead of retrying; one that cannot passes `file.contents`.
    /// The file is replaced only if it still holds those contents just before the rename,
    /// and only while the lock is still this deploy's.
    /// - Returns: false when the file changed since (something ignored the lock): nothing
    ///   was written, read it again.
    /// - Throws: ``KeyDeployError`` `.locked` when the lock was not had or was lost.
    func replace(
        _ file: KeyDeploy.RemoteFile,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool
}

extension AuthorizedKeysStore {
    /// Adds each of `lines` (`[options ]type base64 [comment]`) whose key is not yet in the
    /// file, unless `force`; creates the file and directory, repairs unsafe modes. With
    /// `dryRun` nothing is changed and the result says what would be.
    public func copy(lines: [String], force: Bool = false, dryRun: Bool = false) throws -> KeyDeploy.CopyResult {
        var reports = KeyDeploy.CopyResult()
        var (result, file) = try self.edit(dryRun: dryRun, repairing: true, into: &reports) { contents in
            let (plan, new) = KeyDeploy.planCopy(lines: lines, into: contents, force: force)
            return (plan, plan.added.isEmpty ? nil : new)
        }
        if dryRun {
            result.addedFinalNewline = false
            result.repaired = file.unsafePaths
            return result
        }
        result.created = reports.created
        result.repaired = reports.repaired
        return result
    }

    /// Removes every line carrying one of `keys` (whatever its options or comment).
    public func remove(keys: [SSHPublicKey], dryRun: Bool = false) throws -> KeyDeploy.RemoveResult {
        var reports = KeyDeploy.CopyResult()
        return try self.edit(dryRun: dryRun, repairing: false, into: &reports) { contents in
            let (plan, kept) = KeyDeploy.planRemove(keys: keys, from: contents)
            return (plan, plan.removed.isEmpty ? nil : kept)
        }.plan
    }

    /// The keys in the file (lines keysmith cannot read are skipped; ``listing()`` has them).
    public func list() throws -> [KeyDeploy.ListedKey] {
        KeyDeploy.listed(in: try self.read().contents)
    }

    /// The keys in the file and, each with its line number and why, the lines keysmith
    /// cannot read.
    public func listing() throws -> KeyDeploy.Listing {
        KeyDeploy.listing(of: try self.read().contents)
    }

    /// The one read–plan–replace loop: `plan` says what the edit makes of the contents
    /// (nil: nothing to write). When the file changed under a replacement, it is read again,
    /// after a random pause, up to ``KeyDeploy/attempts`` times.
    /// - Parameter repairing: whether unsafe modes are repaired when nothing is written.
    func edit<Plan>(
        dryRun: Bool,
        repairing: Bool,
        into reports: inout KeyDeploy.CopyResult,
        plan: ([UInt8]) -> (Plan, [UInt8]?)
    ) throws -> (plan: Plan, file: KeyDeploy.RemoteFile) {
        for _ in 0..<KeyDeploy.attempts {
            let file = try self.read()
            var (planned, new) = plan(file.contents)
            if dryRun { return (planned, file) }
            guard new != nil else {
                if repairing && !file.unsafePaths.isEmpty { try self.repair(file, into: &reports) }
                return (planned, file)
            }
            reports = KeyDeploy.CopyResult()
            let replaced = try self.replace(file, into: &reports) { contents in
                (planned, new) = plan(contents)
                return new
            }
            if replaced { return (planned, file) }
            KeyDeploy.backOff()
        }
        throw KeyDeployError(.conflict, "\(self.target) kept changing while keysmith tried to update it; try again")
    }
}

extension SSHClient {
    /// Runs `body` with the store for `target` on this connection: over SFTP when `sftp`
    /// (its channel closed afterwards), else over the remote shell, switching to SFTP when
    /// the shell shows that it cannot run keysmith's script (``ShellFallbackStore``).
    /// - Parameter fallingBack: told, in one sentence, why SFTP took over (at most once).
    public func withAuthorizedKeysStore<T>(
        target: String = KeyDeploy.defaultTarget,
        sftp: Bool,
        fallingBack: @escaping (String) -> Void = { _ in },
        _ body: (any AuthorizedKeysStore) throws -> T
    ) throws -> T {
        guard sftp else {
            let store = ShellFallbackStore(target: target, over: self, fallingBack: fallingBack)
            defer { store.closeSFTP() }
            return try body(store)
        }
        let channel = try SFTPClient(over: self)
        defer { try? channel.close() }
        return try body(try SFTPAuthorizedKeysStore(target: target, over: channel))
    }
}

/// The shell store, until the shell shows that it cannot run keysmith's POSIX sh script:
/// then the SFTP store, for the rest of the connection.
///
/// Every edit begins with ``read()``, and the script's `read` prints `exists` before anything
/// else, so output that does not begin so means the script never ran: the account's login
/// shell is not POSIX (fish breaks sh's `'\''` quoting), refuses commands (`/bin/false`,
/// nologin), or the server runs something else for every command (`ForceCommand
/// internal-sftp`). Nothing was changed by then, so the SFTP store takes over from the start.
/// A script that ran and failed (`failed WHAT`) is reported, not retried.
final class ShellFallbackStore: AuthorizedKeysStore {
    let target: String
    private let client: SSHClient
    private let shell: ShellAuthorizedKeysStore<SSHClient>
    private let fallingBack: (String) -> Void
    private var sftp: (channel: SFTPClient, store: SFTPAuthorizedKeysStore)?

    init(target: String, over client: SSHClient, fallingBack: @escaping (String) -> Void) {
        self.target = target
        self.client = client
        self.shell = ShellAuthorizedKeysStore(target: target, over: client)
        self.fallingBack = fallingBack
    }

    private var current: any AuthorizedKeysStore { self.sftp?.store ?? self.shell }

    func read() throws -> KeyDeploy.RemoteFile {
        if let sftp { return try sftp.store.read() }
        do {
            return try self.shell.read()
        } catch let shellError as KeyDeployError where shellError.code == .shellUnusable {
            let channel: SFTPClient
            let store: SFTPAuthorizedKeysStore
            do {
                channel = try SFTPClient(over: self.client)
                store = try SFTPAuthorizedKeysStore(target: self.target, over: channel)
            } catch {
                throw KeyDeployError(
                    .remoteFailure,
                    "\(shellError.message); SFTP did not work either: \(String(describing: error))"
                )
            }
            self.sftp = (channel, store)
            self.fallingBack(
                "the remote shell did not run keysmith's POSIX sh script (\(shellError.message)), so keysmith uses SFTP instead, as with -s"
            )
            return try store.read()
        }
    }

    func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws {
        try self.current.repair(file, into: &reports)
    }

    func replace(
        _ file: KeyDeploy.RemoteFile,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool {
        try self.current.replace(file, into: &reports, change: change)
    }

    func closeSFTP() {
        try? self.sftp?.channel.close()
        self.sftp = nil
    }
}
