import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A host key file a fixture's server reads, and its public line.
struct HostKeyFile: Sendable {
    /// The key type's name as its public line starts (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    let type: String
    /// The private key file.
    let path: String
    /// The public line, `type base64` and (from ssh-keygen) a comment.
    let line: String
}

/// Host keys made once per test process and shared by every fixture of one kind.
///
/// Making an RSA host key is most of the work of starting a fixture (about a second on two
/// busy cores), and no test needs its server's keys to differ from another server's: each
/// known_hosts line names its server's port, and a test of a changed host key makes its own
/// stranger key. The files live in one directory under the temporary directory, removed
/// when the process exits; servers only read them.
enum SharedHostKeys {
    /// OpenSSH host keys (Ed25519, ECDSA P-256, RSA 2048) made by ssh-keygen.
    static let openSSH: Result<[HostKeyFile], any Error> = Self.make { directory in
        try [("ed25519", nil), ("ecdsa", "256"), ("rsa", "2048")].map { (type: String, bits: String?) in
            let path = directory + "/ssh_host_\(type)_key"
            var args = ["-q", "-t", type, "-N", "", "-f", path]
            if let bits { args += ["-b", bits] }
            let r = try runProcess(Tool.sshKeygen, args)
            guard r.status == 0 else { throw FixtureError("ssh-keygen failed: \(r.stderr)") }
            let line = try readText(path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
            return HostKeyFile(type: String(line.split(separator: " ")[0]), path: path, line: line)
        }
    }

    /// dropbear host keys (Ed25519, ECDSA P-256, RSA 2048) made by dropbearkey.
    static let dropbear: Result<[HostKeyFile], any Error> = Self.make { directory in
        try [("ed25519", nil), ("ecdsa", "256"), ("rsa", "2048")].map { (type: String, bits: String?) in
            let path = directory + "/dropbear_\(type)_host_key"
            var args = ["-t", type, "-f", path]
            if let bits { args += ["-s", bits] }
            _ = try runProcess("/usr/bin/dropbearkey", args).checked("dropbearkey")
            let shown = try runProcess("/usr/bin/dropbearkey", ["-y", "-f", path]).checked("dropbearkey -y")
            guard
                let line = shown.stdout.split(separator: "\n").first(where: {
                    $0.hasPrefix("ssh-") || $0.hasPrefix("ecdsa-")
                })
            else { throw FixtureError("dropbearkey -y printed no key: \(shown.stdout)") }
            let typeAndKey = line.split(separator: " ").prefix(2).joined(separator: " ")
            return HostKeyFile(type: String(line.split(separator: " ")[0]), path: path, line: typeAndKey)
        }
    }

    /// Runs `body` with a fresh directory of this process's shared scratch space.
    private static func make(_ body: (String) throws -> [HostKeyFile]) -> Result<[HostKeyFile], any Error> {
        Result { try body(try ProcessScratch.newDirectory()) }
    }
}

/// One directory under the temporary directory for what fixtures share for the whole test
/// process, removed (with everything in it) when the process exits.
enum ProcessScratch {
    /// The directory, made on first use.
    static let root: Result<String, FixtureError> = {
        var template = Array((NSTemporaryDirectory() + "/keysmith-shared.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            return .failure(FixtureError("mkdtemp failed: \(String(cString: strerror(errno)))"))
        }
        let path = String(cString: made)
        guard chmod(path, 0o700) == 0 else { return .failure(FixtureError("cannot chmod \(path)")) }
        rootPath.withLock { $0 = path }
        atexit {
            if let path = rootPath.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
        return .success(path)
    }()

    /// Read by the exit handler, which cannot capture.
    private static let rootPath = LockedValue<String?>(nil)

    /// A fresh subdirectory of ``root``.
    static func newDirectory() throws -> String {
        let root = try Self.root.get()
        let path = root + "/" + UUID().uuidString
        guard mkdir(path, 0o700) == 0 else { throw FixtureError("cannot make \(path)") }
        return path
    }
}

/// A value under a lock.
final class LockedValue<Value: Sendable>: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        self.lock.withLock { body(&self.value) }
    }
}
