package import SSHCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing key files, known_hosts and authorized_keys with plain POSIX calls.
///
/// Every write goes through ``writeAtomically(path:contents:mode:overwrite:)``: a
/// temporary file beside the target, created exclusively with the final mode, written,
/// fsynced and renamed into place. A failure leaves the target as it was.
package enum KeyFileIO {
    /// The largest file we read (16 MiB); key files and host lists are far smaller.
    package static let maximumFileSize = 16 << 20

    // MARK: Reading

    /// Reads the whole file at `path`.
    ///
    /// - Throws: `.fileError` naming the path and the system's reason
    ///   ("PATH: No such file or directory"), or when the file exceeds ``maximumFileSize``.
    package static func readFile(_ path: String) throws(SSHKeyError) -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        return try readAll(fd, path: path)
    }

    /// Reads a private key file, first refusing it as OpenSSH's `sshkey_perm_ok` does when
    /// it is ours and readable or writable by group or others.
    ///
    /// The check uses `fstat` on the opened descriptor, so the file checked is the file read.
    ///
    /// - Throws: `.badPermissions` with the `chmod 600` advice, or `.fileError`.
    package static func readPrivateKeyFile(_ path: String) throws(SSHKeyError) -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw systemError(path) }
        try checkPermissions(st, path: path)
        // Sized from fstat so the array does not reallocate (leaving copies of the key behind).
        return try readAll(fd, path: path, expectedSize: Int(st.st_size))
    }

    /// Refuses a private key file that is ours and open to group or others.
    ///
    /// authfile.c `sshkey_perm_ok`: only a file whose owner is the real uid is checked
    /// (`st_uid == getuid()`), and any of the 077 bits set refuses it. A file owned by
    /// someone else (root reading a user's key) is not our business.
    ///
    /// - Throws: `.badPermissions` ("Permissions 0644 for 'PATH' are too open; …chmod 600 PATH"),
    ///   or `.fileError` when the file cannot be examined.
    package static func checkPrivateKeyPermissions(_ path: String) throws(SSHKeyError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw systemError(path) }
        try checkPermissions(st, path: path)
    }

    /// The mode bits (`st_mode & 0o7777`) of the file at `path`.
    package static func mode(of path: String) throws(SSHKeyError) -> UInt32 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw systemError(path) }
        return UInt32(st.st_mode & 0o7777)
    }

    /// Whether anything (a file, a directory, a dangling symlink's target aside) exists at `path`.
    package static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The user's home directory: `$HOME` when set and not empty, else the password entry's.
    package static func homeDirectory() -> String? {
        if let home = getenv("HOME"), home.pointee != 0 {
            return String(cString: home)
        }
        guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    // MARK: Directories

    /// Creates the directory at `path` and any missing parents (`mkdir -p`).
    ///
    /// Directories we create get `mode` (not reduced by the umask); an existing directory
    /// is left as it is.
    ///
    /// - Throws: `.fileError` when a component cannot be created or is not a directory.
    package static func ensureDirectory(_ path: String, mode: UInt32 = 0o700) throws(SSHKeyError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw SSHKeyError(.fileError, "\(path): Not a directory")
            }
            return
        }
        let parent = directoryName(of: path)
        if parent != path && !parent.isEmpty && parent != "/" && parent != "." {
            try ensureDirectory(parent, mode: mode)
        }
        if mkdir(path, mode_t(mode)) != 0 {
            let code = errno
            // Another process may have created it between our stat and mkdir.
            if code == EEXIST, stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return }
            throw systemError(path, code)
        }
        // mkdir's mode is reduced by the umask; set the one asked for.
        if chmod(path, mode_t(mode)) != 0 { throw systemError(path) }
    }

    // MARK: Writing

    /// Writes `contents` to `path` atomically with permissions `mode`.
    ///
    /// A temporary file is created beside `path` (`O_CREAT|O_EXCL`), given `mode` with
    /// `fchmod` so the umask does not matter, written in full and fsynced. It then replaces
    /// `path` with `rename`, or, when `overwrite` is false, is hard-linked to `path`, which
    /// fails atomically if `path` exists. The directory is fsynced last. On any failure the
    /// temporary file is removed and `path` is untouched.
    ///
    /// - Throws: `.fileExists` when `overwrite` is false and `path` exists; `.fileError` otherwise.
    package static func writeAtomically(
        path: String,
        contents: [UInt8],
        mode: UInt32,
        overwrite: Bool
    ) throws(SSHKeyError) {
        try contents.withUnsafeBytes { buffer in
            Result { () throws(SSHKeyError) in
                try writeAtomically(path: path, buffer: buffer, mode: mode_t(mode), overwrite: overwrite)
            }
        }.get()
    }

    /// Writes a secret (a private key file) atomically; see ``writeAtomically(path:contents:mode:overwrite:)-([UInt8],_,_)``.
    ///
    /// The bytes go straight from the secure storage to the file, with no plain copy.
    package static func writeAtomically(
        path: String,
        contents: SecureBytes,
        mode: UInt32,
        overwrite: Bool
    ) throws(SSHKeyError) {
        try contents.withUnsafeBytes { (buffer) throws(SSHKeyError) in
            try writeAtomically(path: path, buffer: buffer, mode: mode_t(mode), overwrite: overwrite)
        }
    }

    /// Replaces `path` with `contents` and keeps the old file as `backupPath`, as
    /// `ssh-keygen -R` / `-H` do with `FILE.old`.
    ///
    /// ssh-keygen.c `do_known_hosts`: the new file gets the old file's mode masked with
    /// 0644; any old backup is unlinked, the current file is hard-linked to `backupPath`,
    /// and the new file is renamed over `path`. If the rename fails, the backup is removed
    /// again and `path` is untouched.
    ///
    /// - Throws: `.fileError` naming the path and the system's reason.
    package static func replaceKeepingBackup(path: String, contents: [UInt8], backupPath: String) throws(SSHKeyError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw systemError(path) }
        let mode = st.st_mode & 0o644
        let temporary = try contents.withUnsafeBytes { buffer in
            Result { () throws(SSHKeyError) in try writeTemporary(beside: path, buffer: buffer, mode: mode) }
        }.get()
        if unlink(backupPath) != 0 && errno != ENOENT {
            let error = systemError(backupPath)
            unlink(temporary)
            throw error
        }
        if link(path, backupPath) != 0 {
            let error = systemError(backupPath)
            unlink(temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let error = systemError(path)
            unlink(temporary)
            unlink(backupPath)
            throw error
        }
        syncDirectory(of: path)
    }

    // MARK: Internals

    private static func writeAtomically(
        path: String,
        buffer: UnsafeRawBufferPointer,
        mode: mode_t,
        overwrite: Bool
    ) throws(SSHKeyError) {
        if !overwrite && fileExists(path) {
            throw SSHKeyError(.fileExists, "\(path) already exists")
        }
        let temporary = try writeTemporary(beside: path, buffer: buffer, mode: mode)
        if overwrite {
            if rename(temporary, path) != 0 {
                let error = systemError(path)
                unlink(temporary)
                throw error
            }
        } else {
            // link(2) refuses an existing target atomically, like renameat2(RENAME_NOREPLACE).
            if link(temporary, path) != 0 {
                let code = errno
                unlink(temporary)
                if code == EEXIST { throw SSHKeyError(.fileExists, "\(path) already exists") }
                throw systemError(path, code)
            }
            unlink(temporary)
        }
        syncDirectory(of: path)
    }

    /// Creates `PATH.XXXXXX` exclusively, sets `mode`, writes `buffer`, fsyncs and closes it.
    /// Returns its path; on failure nothing is left behind.
    private static func writeTemporary(
        beside path: String,
        buffer: UnsafeRawBufferPointer,
        mode: mode_t
    ) throws(SSHKeyError) -> String {
        var template = Array((path + ".XXXXXX").utf8CString)
        // mkstemp opens with O_RDWR|O_CREAT|O_EXCL and mode 0600.
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw systemError(path) }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var failure: SSHKeyError? = nil
        if fchmod(fd, mode) != 0 {
            failure = systemError(temporary)
        } else if let error = writeAll(fd, buffer, path: temporary) {
            failure = error
        } else if fsync(fd) != 0 {
            failure = systemError(temporary)
        }
        if close(fd) != 0 && failure == nil {
            failure = systemError(temporary)
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        return temporary
    }

    private static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) -> SSHKeyError? {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return systemError(path)
            }
            offset += n
        }
        return nil
    }

    private static func syncDirectory(of path: String) {
        // Best effort: the rename is done; a directory we cannot open for fsync is not an error.
        let fd = open(directoryName(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    private static func openForReading(_ path: String) throws(SSHKeyError) -> Int32 {
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno != EINTR { throw systemError(path) }
        }
    }

    private static func readAll(_ fd: Int32, path: String, expectedSize: Int = 0) throws(SSHKeyError) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(min(max(expectedSize, 0), maximumFileSize) + 1)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        defer { secureWipe(&chunk) }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError(path)
            }
            if n == 0 { return result }
            guard result.count + n <= maximumFileSize else {
                throw SSHKeyError(.fileError, "\(path): file is larger than \(maximumFileSize >> 20) MiB")
            }
            result.append(contentsOf: chunk[0..<n])
        }
    }

    private static func checkPermissions(_ st: stat, path: String) throws(SSHKeyError) {
        guard st.st_uid == getuid(), st.st_mode & 0o077 != 0 else { return }
        // authfile.c prints the mode with "0%3.3o".
        var digits = String(UInt32(st.st_mode & 0o777), radix: 8)
        while digits.count < 3 { digits = "0" + digits }
        throw SSHKeyError(
            .badPermissions,
            "Permissions 0\(digits) for '\(path)' are too open; a private key file must not be accessible by others, so run chmod 600 \(path)"
        )
    }

    /// The directory part of `path`, as dirname(3) would give it.
    package static func directoryName(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        var end = slash
        while end > 0 && bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        if end == 0 { return "/" }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    private static func systemError(_ path: String, _ code: Int32 = errno) -> SSHKeyError {
        SSHKeyError(.fileError, "\(path): \(String(cString: strerror(code)))")
    }
}
