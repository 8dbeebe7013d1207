public import SSHKeys
public import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ``KeyDeploy``'s copy, remove and list over SFTP (`copy-id -s`), for servers where no
/// POSIX shell runs commands: an account whose shell is `nologin` with `ForceCommand
/// internal-sftp`, or an appliance that offers only the sftp subsystem.
///
/// The plan (which keys are added or removed, the new file's bytes) is ``KeyDeploy``'s own,
/// so both paths produce the same file. The edit is the same compare-and-swap as the shell
/// script's, with SFTP requests in place of shell commands:
///
/// 1. read the file (missing → empty) and LSTAT the paths sshd's StrictModes checks;
/// 2. create the directory 0700 when missing and clear group and other write bits
///    (`chmod go-w`), reporting each as the shell path does;
/// 3. take the same lock as the shell script, `DIR/.keysmith.lock` (MKDIR fails while
///    another deploy holds it, so deploys over the shell and over SFTP serialise), and write
///    a holder record into it; a stale lock is broken as the shell script breaks one whose
///    holder it cannot check (SFTP runs no `kill -0`): after 20 s unchanged, under
///    `DIR/.keysmith.lock.break` (docs/limits.md);
/// 4. read the file again and give up this round when it changed;
/// 5. write a temporary file beside it with mode 0600 (`O_EXCL`), `fsync@openssh.com` when
///    offered, and `posix-rename@openssh.com` it over the target; remove the lock.
///
/// `restorecon` cannot run over SFTP; the renamed file keeps the directory's default label.
public enum SFTPKeyDeploy {
    /// Adds each of `lines` whose key is not yet in the target (as ``KeyDeploy/copy(lines:target:force:dryRun:over:)``).
    public static func copy(
        lines: [String],
        target: String = KeyDeploy.defaultTarget,
        force: Bool = false,
        dryRun: Bool = false,
        over sftp: SFTPClient
    ) throws -> KeyDeploy.CopyResult {
        let paths = try Paths(target: target, sftp: sftp)
        for _ in 0..<KeyDeploy.attempts {
            let contents = try sftp.readFile(paths.target)
            let unsafe = try paths.unsafe(sftp)
            var (result, new) = KeyDeploy.planCopy(lines: lines, into: contents ?? [], force: force)
            if dryRun {
                result.addedFinalNewline = false
                result.repaired = unsafe
                return result
            }
            try paths.repair(unsafe, sftp, into: &result)
            if result.added.isEmpty { return result }
            if try paths.swap(expected: contents, new: new, sftp) { return result }
            KeyDeploy.backOff()
        }
        throw KeyDeployError(.conflict, "\(target) kept changing while keysmith tried to update it; try again")
    }

    /// Removes every line carrying one of `keys` (as ``KeyDeploy/remove(keys:target:dryRun:over:)``).
    public static func remove(
        keys: [SSHPublicKey],
        target: String = KeyDeploy.defaultTarget,
        dryRun: Bool = false,
        over sftp: SFTPClient
    ) throws -> KeyDeploy.RemoveResult {
        let paths = try Paths(target: target, sftp: sftp)
        for _ in 0..<KeyDeploy.attempts {
            let contents = try sftp.readFile(paths.target)
            let (result, kept) = KeyDeploy.planRemove(keys: keys, from: contents ?? [])
            if dryRun || result.removed.isEmpty { return result }
            var ignored = KeyDeploy.CopyResult()
            try paths.repair(try paths.unsafe(sftp), sftp, into: &ignored)
            if try paths.swap(expected: contents, new: kept, sftp) { return result }
            KeyDeploy.backOff()
        }
        throw KeyDeployError(.conflict, "\(target) kept changing while keysmith tried to update it; try again")
    }

    /// The keys in the target file (lines keysmith cannot read are skipped).
    public static func list(
        target: String = KeyDeploy.defaultTarget,
        over sftp: SFTPClient
    ) throws -> [KeyDeploy.ListedKey] {
        let paths = try Paths(target: target, sftp: sftp)
        return KeyDeploy.listed(in: try sftp.readFile(paths.target) ?? [])
    }

    /// How long another deploy's lock is waited for, as in the shell script.
    static let lockWait: Duration = .seconds(60)
    /// How long a lock must stay unchanged (same record, same directory time) to count as stale.
    static let staleAfter: Duration = .seconds(20)

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
            for directory in missing.reversed() {
                try sftp.makeDirectory(directory, permissions: 0o700)
                // The server's umask may have cleared bits; say exactly 0700.
                try sftp.setPermissions(directory, 0o700)
            }
            if !missing.isEmpty { result.created.append(self.directory) }
            for (mode, path) in unsafe {
                guard let permissions = try sftp.stat(path)?.permissions else { continue }
                try sftp.setPermissions(path, permissions & 0o7755)
                result.repaired.append((mode, path))
            }
        }

        /// Under the lock: when the file still holds `expected` (nil: absent), replaces it
        /// with `new` through a temporary file. False when it changed meanwhile.
        func swap(expected: [UInt8]?, new: [UInt8], _ sftp: SFTPClient) throws -> Bool {
            let lock = self.directory + "/.keysmith.lock"
            try self.acquire(lock, sftp)
            defer {
                try? sftp.remove(lock + "/holder")
                try? sftp.removeDirectory(lock)
            }
            guard try sftp.readFile(self.target) == expected else { return false }
            let temporary = self.target + ".keysmith.sftp." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            do throws(SSHProtocolError) {
                let handle = try sftp.open(temporary, flags: [.write, .create, .exclusive], permissions: 0o600)
                do throws(SSHProtocolError) {
                    try sftp.write(handle, offset: 0, new)
                    try sftp.fsync(handle)
                } catch {
                    try? sftp.close(handle)
                    throw error
                }
                try sftp.close(handle)
                try sftp.setPermissions(temporary, 0o600)
                try sftp.posixRename(temporary, to: self.target)
            } catch {
                try? sftp.remove(temporary)
                throw KeyDeployError(.remoteFailure, error.message)
            }
            return true
        }

        /// MKDIR of the lock directory, retried while it exists for up to ``lockWait``;
        /// then the holder record. Every second a waiter checks whether the lock is stale.
        func acquire(_ lock: String, _ sftp: SFTPClient) throws {
            let end = ContinuousClock.now + SFTPKeyDeploy.lockWait
            var vanished = 0
            var polls = 0
            var seen: (identity: [UInt8], since: ContinuousClock.Instant)? = nil
            while true {
                do throws(SSHProtocolError) {
                    try sftp.makeDirectory(lock, permissions: 0o700)
                    break
                } catch {
                    // MKDIR fails while the lock exists; when it is gone by the time we look,
                    // its holder just released it: try again at once, a few times.
                    if try sftp.lstat(lock) == nil {
                        vanished += 1
                        guard vanished < 5 else { throw KeyDeployError(.remoteFailure, error.message) }
                        continue
                    }
                }
                polls += 1
                if polls % 10 == 0, try Self.breakIfStale(lock, sftp, seen: &seen) { continue }
                guard ContinuousClock.now < end else { throw KeyDeploy.lockedError(lock) }
                usleep(100_000)
            }
            // The shell script's record is `HOST PID`; "(sftp)" is no host name, so a shell
            // waiter treats this record as another host's, which it cannot check either.
            let record = Array("(sftp) \(String(UInt64.random(in: 0...UInt64.max), radix: 16))\n".utf8)
            do throws(SSHProtocolError) {
                let handle = try sftp.open(lock + "/holder", flags: [.write, .create, .exclusive], permissions: 0o600)
                defer { try? sftp.close(handle) }
                try sftp.write(handle, offset: 0, record)
            } catch {
                try? sftp.remove(lock + "/holder")
                try? sftp.removeDirectory(lock)
                throw KeyDeployError(.remoteFailure, error.message)
            }
        }

        /// The shell script's `stale` for a holder it cannot check: the lock is stale once its
        /// record and its directory's modification time stayed the same for ``staleAfter``.
        /// It is broken under `LOCK.break` after reading the record again, so two waiters
        /// never both break it and a fresh lock is never taken for the stale one.
        static func breakIfStale(
            _ lock: String,
            _ sftp: SFTPClient,
            seen: inout (identity: [UInt8], since: ContinuousClock.Instant)?
        ) throws(SSHProtocolError) -> Bool {
            guard let attributes = try sftp.lstat(lock) else { return false }
            let record = try sftp.readFile(lock + "/holder", maximumSize: 4096)
            let identity = Array(String(attributes.modificationTime ?? 0).utf8) + [0x2F] + (record ?? [])
            guard let previous = seen, previous.identity == identity else {
                seen = (identity, ContinuousClock.now)
                return false
            }
            guard ContinuousClock.now - previous.since >= SFTPKeyDeploy.staleAfter else { return false }
            do throws(SSHProtocolError) {
                try sftp.makeDirectory(lock + ".break", permissions: 0o700)
            } catch {
                return false
            }
            defer { try? sftp.removeDirectory(lock + ".break") }
            guard try sftp.readFile(lock + "/holder", maximumSize: 4096) == record else { return false }
            if record != nil { try sftp.remove(lock + "/holder") }
            try? sftp.removeDirectory(lock)
            seen = nil
            return true
        }
    }
}
