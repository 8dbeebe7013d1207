import SSHKeys
public import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ``AuthorizedKeysStore`` over SFTP (`copy-id -s`), for servers where no POSIX shell
/// runs commands: an account whose shell is `nologin` with `ForceCommand internal-sftp`, or
/// an appliance that offers only the sftp subsystem. The same steps as the shell script's,
/// with SFTP requests in place of shell commands:
///
/// 1. read the file (missing → empty) and LSTAT the paths sshd's StrictModes checks;
/// 2. create the directory 0700 when missing and clear group and other write bits
///    (`chmod go-w`), reporting each as the shell path does;
/// 3. take the same lock as the shell script (``DeployLock``; MKDIR fails while another
///    deploy holds it, so deploys over the shell and over SFTP serialise) by putting a whole
///    holder record in; a stale lock is taken over as the shell script takes over one whose
///    holder it cannot check (SFTP runs no `kill -0`): after ``LockTiming/staleAfter``
///    unchanged (``SFTPAuthorizedKeysStore/Lock``, docs/limits.md); then remove what killed deploys left;
/// 4. read the file again and plan the change against it;
/// 5. write a temporary file beside it with mode 0600 (`O_EXCL`), `fsync@openssh.com` when
///    offered, check that the file still holds what step 4 read and that the lock is still
///    its own, and `posix-rename@openssh.com` it over the target; remove the lock. Between
///    the requests of steps 4 and 5 the holder refreshes the lock every
///    ``LockTiming/refresh``, so that a waiter never takes a slow holder's lock for stale.
///
/// `restorecon` cannot run over SFTP; the renamed file keeps the directory's default label.
public struct SFTPAuthorizedKeysStore: AuthorizedKeysStore {
    public let target: String
    let sftp: SFTPClient
    let paths: SFTPAuthorizedKeysStore.Paths
    let timing: LockTiming

    /// The store for `target` over `sftp`; finds the home directory.
    public init(target: String = KeyDeploy.defaultTarget, over sftp: SFTPClient) throws {
        try self.init(target: target, timing: .current, over: sftp)
    }

    init(target: String = KeyDeploy.defaultTarget, timing: LockTiming, over sftp: SFTPClient) throws {
        self.target = target
        self.sftp = sftp
        self.paths = try SFTPAuthorizedKeysStore.Paths(target: target, sftp: sftp)
        self.timing = timing
    }

    /// The file (missing: empty) and the unsafe paths; `checksum` is `absent` or the size,
    /// since the swap compares the bytes themselves.
    public func read() throws -> KeyDeploy.RemoteFile {
        let contents = try self.sftp.readFile(self.paths.target)
        return KeyDeploy.RemoteFile(
            exists: contents != nil,
            checksum: contents.map { "\($0.count)" } ?? "absent",
            unsafePaths: try self.paths.unsafe(self.sftp),
            contents: contents ?? []
        )
    }

    public func repair(_ file: KeyDeploy.RemoteFile, into reports: inout KeyDeploy.CopyResult) throws {
        try self.paths.repair(file.unsafePaths, self.sftp, into: &reports)
    }

    public func replace(
        _ file: KeyDeploy.RemoteFile,
        into reports: inout KeyDeploy.CopyResult,
        change: ([UInt8]) throws -> [UInt8]?
    ) throws -> Bool {
        try self.repair(file, into: &reports)
        return try self.paths.swap(timing: self.timing, self.sftp, change: change)
    }
}

// The SFTP store's paths and lock.
extension SFTPAuthorizedKeysStore {
    /// The target as an absolute path, its directory and the home directory.
    struct Paths {
        let home: String
        let target: String
        let directory: String

        init(target: String, sftp: SFTPClient) throws(SSHProtocolError) {
            let home = try sftp.realPath(".")
            self.home = home
            self.target = target.hasPrefix("/") ? target : (home == "/" ? "" : home) + "/" + target
            self.directory = Self.parent(self.target)
        }

        static func parent(_ path: String) -> String {
            guard let slash = path.lastIndex(of: "/") else { return "." }
            return slash == path.startIndex ? "/" : String(path[..<slash])
        }

        /// The paths sshd's StrictModes checks: the file, its directory, and the directories
        /// up to the home directory, as the shell script lists them.
        func checked(_ sftp: SFTPClient) throws(SSHProtocolError) -> [String] {
            var out: [String] = []
            if try sftp.lstat(self.target) != nil { out.append(self.target) }
            var p = self.directory
            while !p.isEmpty {
                out.append(p)
                if p == self.home || !p.hasPrefix(self.home + "/") { break }
                p = Self.parent(p)
            }
            return out
        }

        /// The checked paths that are group- or other-writable, with their `ls -l` modes.
        /// A symbolic link is judged by what it points to, as sshd does.
        func unsafe(_ sftp: SFTPClient) throws(SSHProtocolError) -> [(mode: String, path: String)] {
            var out: [(mode: String, path: String)] = []
            for path in try self.checked(sftp) {
                guard var attributes = try sftp.lstat(path) else { continue }
                if (attributes.permissions ?? 0) & 0o170000 == 0o120000 {
                    guard let target = try sftp.stat(path) else { continue }
                    attributes = target
                }
                if let mode = attributes.permissions, mode & 0o022 != 0 { out.append((attributes.modeString, path)) }
            }
            return out
        }

        /// Creates the directory (and missing parents) 0700 and clears go-w on `unsafe`.
        func repair(
            _ unsafe: [(mode: String, path: String)],
            _ sftp: SFTPClient,
            into result: inout KeyDeploy.CopyResult
        ) throws(SSHProtocolError) {
            var missing: [String] = []
            var p = self.directory
            while p != "/" && p != "." && p != self.home, try sftp.stat(p) == nil {
                missing.append(p)
                p = Self.parent(p)
            }
            var created = false
            for directory in missing.reversed() {
                do {
                    try sftp.makeDirectory(directory, permissions: 0o700)
                } catch {
                    // Another deploy (over the shell or SFTP) made it since the stat above:
                    // sftp-server answers MKDIR of an existing directory with a bare failure.
                    guard try sftp.stat(directory)?.isDirectory == true else { throw error }
                    continue
                }
                created = true
                // The server's umask may have cleared bits; say exactly 0700.
                try sftp.setPermissions(directory, 0o700)
            }
            if created { result.created.append(self.directory) }
            for (mode, path) in unsafe {
                guard let permissions = try sftp.stat(path)?.permissions else { continue }
                try sftp.setPermissions(path, permissions & 0o7755)
                result.repaired.append((mode, path))
            }
        }

        /// Under the lock: reads the file, and replaces it with what `change` makes of it
        /// (nil: leaves it) through a temporary file, if the file still holds what was read
        /// and the lock is still this deploy's just before the rename. False when the file
        /// changed meanwhile (something ignored the lock).
        /// - Throws: ``KeyDeployError`` `.locked` when the lock was taken over (nothing written).
        func swap(
            timing: LockTiming = .standard,
            _ sftp: SFTPClient,
            change: ([UInt8]) throws -> [UInt8]?
        ) throws
            -> Bool
        {
            let lock = Lock(directory: self.directory, timing: timing)
            try lock.acquire(sftp)
            defer { lock.release(sftp) }
            lock.sweep(target: self.target, sftp)
            try lock.working(sftp, target: self.target)
            let current = try self.read(self.target, under: lock, sftp)
            guard let new = try change(current ?? []) else { return true }
            let temporary =
                self.target + DeployLock.temporary + DeployLock.sftp
                + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            do {
                let handle = try sftp.open(temporary, flags: [.write, .create, .exclusive], permissions: 0o600)
                do {
                    var offset = 0
                    repeat {
                        let end = min(offset + SFTPClient.chunkSize, new.count)
                        try sftp.write(handle, offset: UInt64(offset), Array(new[offset..<end]))
                        try lock.working(sftp, target: self.target)
                        offset = end
                    } while offset < new.count
                    try sftp.fsync(handle)
                } catch {
                    try? sftp.close(handle)
                    throw error
                }
                try sftp.close(handle)
                try sftp.setPermissions(temporary, 0o600)
                try lock.working(sftp, target: self.target)
                guard try self.read(self.target, under: lock, sftp) == current else {
                    try? sftp.remove(temporary)
                    return false
                }
                // A waiter that took the lock over may be editing the file now: then keep out.
                guard try lock.holds(sftp) else { throw KeyDeploy.lostLockError(lock.path, target: self.target) }
                try sftp.posixRename(temporary, to: self.target)
            } catch let error as SSHProtocolError {
                try? sftp.remove(temporary)
                throw KeyDeployError(.remoteFailure, error.message)
            } catch {
                try? sftp.remove(temporary)
                throw error
            }
            return true
        }

        /// ``SFTPClient/readFile(_:maximumSize:)`` under the lock, refreshing it between reads.
        func read(_ path: String, under lock: Lock, _ sftp: SFTPClient) throws -> [UInt8]? {
            let handle: SFTPClient.Handle
            do throws(SSHProtocolError) {
                handle = try sftp.open(path, flags: .read)
            } catch {
                if try sftp.stat(path) == nil { return nil }
                throw error
            }
            var contents: [UInt8] = []
            do {
                while let chunk = try sftp.read(handle, offset: UInt64(contents.count), length: SFTPClient.chunkSize) {
                    contents += chunk
                    guard contents.count <= KeyDeploy.maximumFileSize else {
                        throw KeyDeployError(
                            .remoteFailure,
                            "\(path) on the server is larger than \(KeyDeploy.maximumFileSize >> 20) MiB"
                        )
                    }
                    try lock.working(sftp, target: path)
                }
            } catch {
                try? sftp.close(handle)
                throw error
            }
            try sftp.close(handle)
            return contents
        }
    }

    /// The shell script's lock, `DIR/.keysmith.lock`, taken and broken over SFTP by the same
    /// rules (``RemoteScript`` and docs/limits.md give the argument):
    ///
    /// - The lock is held by whoever put the file `holder` into the directory. A taker
    ///   creates the directory with MKDIR, writes its record `(sftp) NONCE` into
    ///   `rec.sftp.NONCE` and RENAMEs that to `holder`; RENAME fails when `holder` exists
    ///   (draft-ietf-secsh-filexfer-02 §6.5; OpenSSH's sftp-server links, then unlinks), so
    ///   the record appears whole and only once. A taker that finds `holder` there already
    ///   lost the directory to a breaker and waits again.
    /// - A waiter takes over a lock that stayed the same (record, entries, modification time)
    ///   for ``staleAfter``: it RENAMEs `holder` to `stale.sftp.NONCE` (only one waiter's
    ///   RENAME finds it), checks that it holds the record it judged stale (else it puts it
    ///   back), and puts its own record in as a taker does. With no record, it only does the
    ///   latter. It never removes the directory, so no fresh lock can be taken for the old one.
    /// - The holder removes `holder` and the directory only while `holder` is its own record.
    /// - While it works, the holder refreshes the lock (``working(_:target:)``): every
    ///   ``LockTiming/refresh`` it checks that `holder` is still its record and replaces its
    ///   file `beat.sftp.NONCE.N` by `beat.sftp.NONCE.N+1`, so the lock's entries and time
    ///   change and no waiter takes a live, slow holder's lock for stale. Just before its
    ///   final rename it checks `holder` once more (``holds(_:)``).
    ///
    /// Not `Sendable`: one deploy's lock, used from one thread.
    final class Lock {
        /// `DIR/.keysmith.lock`.
        let path: String
        /// Names this deploy's record and its files inside the lock.
        let nonce = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let timing: LockTiming
        /// The number of this holder's current `beat.sftp.NONCE.N` (0: none yet).
        private var beat = 0
        private var refreshed = ContinuousClock.now

        init(directory: String, timing: LockTiming = .standard) {
            self.path = directory + "/" + DeployLock.directory
            self.timing = timing
        }

        /// The holder record: `(sftp)` is no host name, so a shell waiter treats it as another
        /// host's, whose process it cannot check either.
        var record: [UInt8] { Array((DeployLock.record(host: DeployLock.sftpHost, id: self.nonce) + "\n").utf8) }
        var holder: String { self.path + "/" + DeployLock.holder }

        /// What a waiter watches between polls, and since when it has stayed the same.
        typealias Observation = (identity: [UInt8], since: ContinuousClock.Instant)

        /// MKDIR of the lock directory and the record, retried while another holds it for up
        /// to ``LockTiming/wait``, every ``LockTiming/poll``; every ``LockTiming/check`` a waiter
        /// checks whether the lock is stale and takes it over when it is.
        func acquire(_ sftp: SFTPClient) throws {
            let end = ContinuousClock.now + self.timing.wait
            var vanished = 0
            var polls = 0
            let checkEvery = max(1, Int((self.timing.check / self.timing.poll).rounded(.up)))
            var seen: Observation? = nil
            var legacy: Observation? = nil
            while true {
                do throws(SSHProtocolError) {
                    try sftp.makeDirectory(self.path, permissions: 0o700)
                    if try self.own(sftp) { return }
                } catch  where sftp.lastStatus == 0 {
                    throw KeyDeployError(.remoteFailure, error.message)
                } catch {
                    // MKDIR fails while the lock exists; when it is gone by the time we look,
                    // its holder just released it: try again at once, a few times.
                    if try sftp.lstat(self.path) == nil {
                        vanished += 1
                        guard vanished < 5 else { throw KeyDeployError(.remoteFailure, error.message) }
                        continue
                    }
                }
                polls += 1
                if polls % checkEvery == 0 {
                    try self.ageLegacyBreakLock(sftp, seen: &legacy)
                    if try self.takeIfStale(sftp, seen: &seen) { return }
                }
                guard ContinuousClock.now < end else { throw KeyDeploy.lockedError(self.path) }
                usleep(UInt32(self.timing.poll / .microseconds(1)))
            }
        }

        /// Puts this deploy's record in as `holder`, whole, unless there is one already.
        /// - Returns: whether this deploy now holds the lock.
        func own(_ sftp: SFTPClient) throws(SSHProtocolError) -> Bool {
            let staged = self.path + "/" + DeployLock.staged + DeployLock.sftp + self.nonce
            do throws(SSHProtocolError) {
                let handle = try sftp.open(staged, flags: [.write, .create, .exclusive], permissions: 0o600)
                do throws(SSHProtocolError) {
                    try sftp.write(handle, offset: 0, self.record)
                } catch {
                    try? sftp.close(handle)
                    throw error
                }
                try sftp.close(handle)
                try sftp.rename(staged, to: self.holder)
                return true
            } catch  where sftp.lastStatus != 0 {
                // A STATUS: `holder` exists (a breaker took the directory over) or the
                // directory went away. The connection is fine; the lock is not ours.
                try? sftp.remove(staged)
                return false
            }
        }

        func beatPath(_ number: Int) -> String {
            self.path + "/" + DeployLock.beat + DeployLock.sftp + "\(self.nonce).\(number)"
        }

        /// Whether `holder` is still this deploy's record.
        func holds(_ sftp: SFTPClient) throws(SSHProtocolError) -> Bool {
            try sftp.readFile(self.holder, maximumSize: DeployLock.maximumRecord) == self.record
        }

        /// Called between the steps of the work under the lock: every ``LockTiming/refresh``
        /// (and the first time), checks that the lock is still this deploy's and puts the next
        /// beat file in place of the last, a new name that a waiter sees as a change.
        /// - Throws: ``KeyDeployError`` `.locked` when the lock was taken over.
        func working(_ sftp: SFTPClient, target: String) throws {
            self.timing.work?()
            guard self.beat == 0 || ContinuousClock.now - self.refreshed >= self.timing.refresh else { return }
            guard try self.holds(sftp) else { throw KeyDeploy.lostLockError(self.path, target: target) }
            let next = self.beatPath(self.beat + 1)
            try sftp.close(try sftp.open(next, flags: [.write, .create, .exclusive], permissions: 0o600))
            if self.beat > 0 { try? sftp.remove(self.beatPath(self.beat)) }
            self.beat += 1
            self.refreshed = ContinuousClock.now
        }

        /// Removes this deploy's beat file, then `holder` and the directory if `holder` is
        /// still this deploy's record.
        func release(_ sftp: SFTPClient) {
            if self.beat > 0 { try? sftp.remove(self.beatPath(self.beat)) }
            guard (try? sftp.readFile(self.holder, maximumSize: DeployLock.maximumRecord)) == self.record else {
                return
            }
            try? sftp.remove(self.holder)
            try? sftp.removeDirectory(self.path)
        }

        /// One poll of a waiter: the lock is stale once its record, its entries and its
        /// modification time stayed the same for ``LockTiming/staleAfter`` (SFTP runs no `kill -0`, so
        /// every holder is judged as the shell judges another host's); then it is taken over.
        /// - Returns: whether this deploy now holds the lock.
        func takeIfStale(_ sftp: SFTPClient, seen: inout Observation?) throws(SSHProtocolError) -> Bool {
            guard let attributes = try sftp.lstat(self.path) else { return false }
            let names: [String]
            do throws(SSHProtocolError) {
                names = try sftp.listDirectory(self.path, maximumCount: 1000)
            } catch  where sftp.lastStatus != 0 {
                return false
            }
            let record = try sftp.readFile(self.holder, maximumSize: DeployLock.maximumRecord)
            var identity = Array(String(attributes.modificationTime ?? 0).utf8)
            for name in names.sorted() { identity += [0x2F] + Array(name.utf8) }
            identity += [0x00] + (record ?? [])
            guard let previous = seen, previous.identity == identity else {
                seen = (identity, ContinuousClock.now)
                return false
            }
            guard ContinuousClock.now - previous.since >= self.timing.staleAfter else { return false }
            seen = nil
            return try self.take(over: record, sftp)
        }

        /// Takes over the lock judged stale while `holder` held `stale` (nil: none).
        /// - Returns: whether this deploy now holds the lock.
        func take(over stale: [UInt8]?, _ sftp: SFTPClient) throws(SSHProtocolError) -> Bool {
            let claimed = self.path + "/" + DeployLock.stale + DeployLock.sftp + self.nonce
            if let stale {
                do throws(SSHProtocolError) {
                    try sftp.rename(self.holder, to: claimed)
                } catch  where sftp.lastStatus != 0 {
                    return false  // another waiter took it first, or its holder released it
                }
                guard try sftp.readFile(claimed, maximumSize: DeployLock.maximumRecord) == stale else {
                    // A fresh record: someone took the lock since it was judged. Give it back.
                    try? sftp.rename(claimed, to: self.holder)
                    try? sftp.remove(claimed)
                    return false
                }
            }
            let owned = try self.own(sftp)
            if stale != nil { try? sftp.remove(claimed) }
            return owned
        }

        /// Removes `DIR/.keysmith.lock.break`, which keysmith no longer takes, once it stayed
        /// the same for ``LockTiming/staleAfter``: older versions broke locks under it, and one killed in
        /// that instant left it behind, which kept those versions from breaking any lock.
        func ageLegacyBreakLock(_ sftp: SFTPClient, seen: inout Observation?) throws(SSHProtocolError) {
            guard let attributes = try sftp.lstat(self.path + DeployLock.legacyBreak) else { return }
            let identity = Array("\(attributes.modificationTime ?? 0) \(attributes.permissions ?? 0)".utf8)
            guard let previous = seen, previous.identity == identity else {
                seen = (identity, ContinuousClock.now)
                return
            }
            if ContinuousClock.now - previous.since >= self.timing.staleAfter {
                try? sftp.removeDirectory(self.path + DeployLock.legacyBreak)
                seen = nil
            }
        }

        /// Under the lock: removes what killed deploys left, by exact name only (see
        /// ``leftover(_:target:)``); every writer of these files held the lock while they existed.
        func sweep(target: String, _ sftp: SFTPClient) {
            for name in (try? sftp.listDirectory(self.path, maximumCount: 1000)) ?? [] {
                if DeployLock.leftover(name, inLock: true) { try? sftp.remove(self.path + "/" + name) }
            }
            let directory = Paths.parent(target)
            let base = String(target[target.index(after: target.lastIndex(of: "/") ?? target.startIndex)...])
            for name in (try? sftp.listDirectory(directory)) ?? [] {
                if DeployLock.leftover(name, target: base) { try? sftp.remove(directory + "/" + name) }
            }
        }
    }
}
