public import Foundation

/// A fresh directory, mode 0700, under the system temporary directory; removed in `deinit`.
public final class TempDir: Sendable {
    /// The directory itself.
    public let url: URL

    /// - Throws: When `mkdtemp(3)` or `chmod(2)` fails.
    public init() throws {
        var template = Array((NSTemporaryDirectory() + "/keysmith-test.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw CocoaError(.fileWriteUnknown) }
        let path = String(cString: made)
        // mkdtemp already uses 0700, minus the umask another test may have narrowed.
        guard chmod(path, 0o700) == 0 else { throw CocoaError(.fileWriteNoPermission) }
        self.url = URL(fileURLWithPath: path, isDirectory: true)
    }

    deinit { try? FileManager.default.removeItem(at: self.url) }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    /// The names in the directory, sorted.
    public func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: self.url.path).sorted()
    }

    /// The bytes of `name` inside the directory.
    public func read(_ name: String) throws -> [UInt8] { Array(try readBytes(self.path(name))) }

    /// The text of `name` inside the directory.
    public func readText(_ name: String) throws -> String { try KeysmithTestSupport.readText(self.path(name)) }

    /// Writes `text` to `name` inside the directory with `mode` (0600, as ssh-keygen insists for private keys).
    public func write(_ name: String, _ text: String, mode: Int = 0o600) throws {
        try writeText(self.path(name), text, mode: mode)
    }
}

/// The bytes of the file at `path`.
public func readBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The file at `path` decoded as UTF-8.
public func readText(_ path: String) throws -> String { String(decoding: try readBytes(path), as: UTF8.self) }

/// Writes `text` to `path`, then sets its permission bits to `mode`.
///
/// The descriptor is opened close-on-exec: tests run in parallel threads, and a process
/// another thread starts meanwhile (an sshd, an agent) would otherwise keep it open for its
/// whole life, so that running this file (an askpass or a fake tool) fails with ETXTBSY
/// and a shell silently runs the next one of that name on PATH instead.
public func writeText(_ path: String, _ text: String, mode: Int = 0o600) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw FixtureError("cannot write \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw FixtureError("cannot write \(path): \(String(cString: strerror(errno)))") }
        offset += n
    }
    guard fchmod(fd, mode_t(mode)) == 0 else {
        throw FixtureError("cannot set the mode of \(path): \(String(cString: strerror(errno)))")
    }
}

/// Appends `text` to the existing file at `path`, keeping its owner and mode (an account's
/// authorized_keys stays the account's).
public func appendText(_ path: String, _ text: String) throws {
    guard let handle = FileHandle(forWritingAtPath: path) else { throw FixtureError("cannot open \(path)") }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

/// Writes an executable program (a script) holding `text` to `path`, with `mode`.
///
/// A child process writes it: a write descriptor of this process could be inherited by a
/// process that another test forks meanwhile, and running the program would then fail with
/// "Text file busy" (ETXTBSY) until that child has exec'd.
public func writeProgram(_ path: String, _ text: String, mode: Int = 0o755) throws {
    _ = try runProcess(
        "/bin/sh",
        ["-c", #"cat > "$1" && chmod "$2" "$1""#, "sh", path, String(mode, radix: 8)],
        input: Data(text.utf8)
    ).checked("sh")
}

/// The permission bits of `path`, or -1 when Foundation does not report them.
public func fileMode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
}
