import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file read again whenever it changes on disk: authorized_keys and revoked keys, which
/// an administrator edits while the service runs.
///
/// Each use costs one `stat(2)`; the file is read again when its device, inode, size or
/// modification time differ from the last reading (an editor's rename and an in-place
/// write both show, and a chmod by the change time). A file that cannot be read or parsed gives its error until it is
/// fixed; the last good contents are not kept, since a file replaced by an unreadable one
/// may be meant to withdraw keys.
final class ReloadingFile<Value: Sendable>: Sendable {
    /// What identifies one version of the file.
    private struct Version: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec
        var changed: timespec

        static func == (a: Version, b: Version) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    private struct Loaded {
        var version: Version?
        var value: Result<Value, ServiceFailure>
    }

    let path: String
    private let load: @Sendable (String) throws(ServiceFailure) -> Value
    private let state = Mutex<Loaded?>(nil)

    /// - Parameters:
    ///   - path: The file.
    ///   - load: Reads and parses it (and logs its warnings).
    init(path: String, load: @escaping @Sendable (String) throws(ServiceFailure) -> Value) {
        self.path = path
        self.load = load
    }

    /// The file's contents as of now.
    func current() throws(ServiceFailure) -> Value {
        let version = self.version()
        let result = self.state.withLock { loaded -> Result<Value, ServiceFailure> in
            if let loaded, let version, loaded.version == version { return loaded.value }
            let value: Result<Value, ServiceFailure>
            do throws(ServiceFailure) {
                value = .success(try self.load(self.path))
            } catch {
                value = .failure(error)
            }
            // An unstatable file is read on every use: its error names the cause.
            loaded = Loaded(version: version, value: value)
            return value
        }
        return try result.get()
    }

    private func version() -> Version? {
        var info = stat()
        guard stat(self.path, &info) == 0 else { return nil }
        return Version(
            device: UInt64(info.st_dev),
            inode: UInt64(info.st_ino),
            size: Int64(info.st_size),
            modified: info.st_mtim,
            // The change time too: a chmod that makes an unreadable file readable again
            // leaves the modification time as it was.
            changed: info.st_ctim
        )
    }
}
