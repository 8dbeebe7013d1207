public import SSHCrypto

#if canImport(Glibc)
import Glibc
#endif

/// A provider that runs each operation in `keysmith-sk-helper`, a small dynamically linked
/// program, as OpenSSH's ssh-keygen and ssh run ssh-sk-helper.
///
/// A static keysmith cannot load a security key library (``StaticExecutable``); the helper
/// can, and loads the library ``provider`` names (libfido2 when nil) for one operation. Each
/// call starts the helper with posix_spawn, writes one request to its standard input and
/// reads one answer from its standard output (``HelperMessage``); its standard error is
/// ours, for the library's messages. The PIN travels in the request, whose bytes are wiped
/// on both sides. The helper's errors come back with their code, so
/// ``SecurityKeyError/Code/pinRequired`` still asks for the PIN.
public struct HelperProvider: SecurityKeyProvider {
    /// The helper's file name.
    public static let helperName = "keysmith-sk-helper"

    /// The library the helper loads; nil for libfido2.
    public let provider: String?
    /// The helper's path.
    public let helper: String

    /// A provider running `helper` (by default ``defaultHelperPath()``) for `provider`.
    public init(provider: String?, helper: String? = nil) {
        self.provider = provider
        self.helper = helper ?? Self.defaultHelperPath()
    }

    /// Whether security keys should go through the helper: in a static executable, or
    /// when `KEYSMITH_SK_HELPER_ALWAYS=1` (the tests' way to use it from a dynamic build).
    package static var isWanted: Bool {
        StaticExecutable.isRunning || getenv("KEYSMITH_SK_HELPER_ALWAYS").map { String(cString: $0) } == "1"
    }

    /// `$KEYSMITH_SK_HELPER` when set, else `keysmith-sk-helper` beside this program, else
    /// in `../libexec/keysmith/` from this program's directory (where `make install` puts it).
    public static func defaultHelperPath() -> String {
        if let value = getenv("KEYSMITH_SK_HELPER"), value.pointee != 0 { return String(cString: value) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let program = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let directory = program.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(
            separator: "/"
        )
        let beside = "\(directory)/\(Self.helperName)"
        if access(beside, X_OK) == 0 { return beside }
        let installed = "\(directory)/../libexec/keysmith/\(Self.helperName)"
        return access(installed, X_OK) == 0 ? installed : beside
    }

    public func enroll(
        algorithm: SecurityKeyAlgorithm,
        application: String,
        challenge: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment {
        let operation = HelperMessage.Operation.enroll(
            algorithm: algorithm,
            application: application,
            challenge: challenge,
            flags: flags
        )
        guard case .enrollment(let enrollment) = try self.run(operation, pin: pin, options: options) else {
            throw Self.malformed
        }
        return try Self.checkedEnrollment(enrollment)
    }

    public func sign(
        algorithm: SecurityKeyAlgorithm,
        message: [UInt8],
        application: String,
        keyHandle: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeySignature {
        let operation = HelperMessage.Operation.sign(
            algorithm: algorithm,
            message: message,
            application: application,
            keyHandle: keyHandle,
            flags: flags
        )
        guard case .signature(let signature) = try self.run(operation, pin: pin, options: options) else {
            throw Self.malformed
        }
        return try Self.checkedSignature(signature)
    }

    public func loadResidentKeys(
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> [SecurityKeyResidentKey] {
        guard case .residentKeys(let keys) = try self.run(.loadResidentKeys, pin: pin, options: options) else {
            throw Self.malformed
        }
        return try keys.map { (key) throws(SecurityKeyError) in
            SecurityKeyResidentKey(
                application: key.application,
                enrollment: try Self.checkedEnrollment(key.enrollment),
                userID: key.userID,
                slot: key.slot
            )
        }
    }

    private static let malformed = SecurityKeyError(.invalidResponse, "the security key helper's message is malformed")

    /// Runs the helper for one operation and decodes its answer.
    private func run(
        _ operation: HelperMessage.Operation,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> HelperMessage.Result {
        var request = HelperMessage.encode(
            HelperMessage.Request(provider: self.provider, pin: pin, options: options, operation: operation)
        )
        defer { secureWipe(&request) }
        let body = try HelperProcess.exchange(helper: self.helper, request: request)
        return try HelperMessage.decodeAnswer(body, to: operation)
    }
}

/// The helper's side: reads one request from `input`, runs it with the provider it names,
/// and writes the answer to `output` (`keysmith-sk-helper`'s whole work).
package enum SecurityKeyHelper {
    /// Serves one request; returns the exit status (0 when an answer, even an error, was written).
    package static func serve(input: Int32, output: Int32) -> Int32 {
        var body: [UInt8]
        do {
            body = try HelperProcess.readMessage(from: input, peer: "keysmith")
        } catch {
            HelperProcess.complain(error.message)
            return 1
        }
        let answer: Result<HelperMessage.Result, SecurityKeyError>
        do {
            let request = try HelperMessage.decodeRequest(body)
            secureWipe(&body)
            answer = .success(try Self.perform(request))
        } catch {
            secureWipe(&body)
            answer = .failure(error)
        }
        return HelperProcess.writeAll(HelperMessage.encode(answer), to: output) ? 0 : 1
    }

    private static func perform(_ request: HelperMessage.Request) throws(SecurityKeyError) -> HelperMessage.Result {
        let provider: any SecurityKeyProvider =
            if let path = request.provider { try MiddlewareProvider(path: path) } else { FIDO2Provider() }
        switch request.operation {
        case .enroll(let algorithm, let application, let challenge, let flags):
            return .enrollment(
                try provider.enroll(
                    algorithm: algorithm,
                    application: application,
                    challenge: challenge,
                    flags: flags,
                    pin: request.pin,
                    options: request.options
                )
            )
        case .sign(let algorithm, let message, let application, let keyHandle, let flags):
            return .signature(
                try provider.sign(
                    algorithm: algorithm,
                    message: message,
                    application: application,
                    keyHandle: keyHandle,
                    flags: flags,
                    pin: request.pin,
                    options: request.options
                )
            )
        case .loadResidentKeys:
            return .residentKeys(try provider.loadResidentKeys(pin: request.pin, options: request.options))
        }
    }
}

/// Starting the helper and moving one message each way.
enum HelperProcess {
    /// Starts `helper`, sends `request` and returns the body of its answer.
    ///
    /// The two ends are a socket pair, not two pipes, so that writing to a helper that has
    /// gone away is an error (send's `MSG_NOSIGNAL`) rather than a SIGPIPE that would end keysmith.
    static func exchange(helper: String, request: [UInt8]) throws(SecurityKeyError) -> [UInt8] {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw SecurityKeyError(.providerUnavailable, "cannot start the security key helper: \(Self.errnoText())")
        }
        let ours = ends[0]
        let theirs = ends[1]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, theirs, 0)
        posix_spawn_file_actions_adddup2(&actions, theirs, 1)
        var pid: pid_t = 0
        let status = helper.withCString { path in
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
            defer { free(argv[0]) }
            return posix_spawn(&pid, path, &actions, nil, &argv, environ)
        }
        close(theirs)
        guard status == 0 else {
            close(ours)
            throw SecurityKeyError(
                .providerUnavailable,
                "cannot run the security key helper \(helper): \(String(cString: strerror(status)))"
            )
        }
        let sent = Self.writeAll(request, to: ours)
        shutdown(ours, Int32(SHUT_WR))
        var answer = Self.readAll(from: ours)
        // Hung up before waiting, so that a helper still writing ends (SIGPIPE) instead of hanging.
        close(ours)
        let overlong = answer.count > HelperMessage.maximumSize + 4
        var body: [UInt8]? = nil
        do { body = try Self.message(&answer, peer: "the helper") } catch {}
        let exit = Self.wait(pid)
        if let body, sent, exit == nil { return body }
        let reason: String =
            if overlong { "gave no proper answer" } else if let exit { exit } else if !sent {
                "stopped reading its request"
            } else { "gave no proper answer" }
        throw SecurityKeyError(.providerUnavailable, "the security key helper \(helper) \(reason)")
    }

    /// Waits for `pid`; nil when it exited with status 0, else how it ended.
    private static func wait(_ pid: pid_t) -> String? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return "could not be waited for: \(Self.errnoText())" }
        }
        let signal = status & 0x7f
        if signal != 0 { return "was killed by signal \(signal)" }
        let code = (status >> 8) & 0xff
        return code == 0 ? nil : "exited with status \(code)"
    }

    /// Reads one length-prefixed message, the whole of what `fd` gives until end of file.
    static func readMessage(from fd: Int32, peer: String) throws(SecurityKeyError) -> [UInt8] {
        var bytes = Self.readAll(from: fd)
        return try Self.message(&bytes, peer: peer)
    }

    /// What `fd` gives until end of file, but no more than one byte past the largest message.
    private static func readAll(from fd: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= HelperMessage.maximumSize + 4 {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        secureZero(chunk.withUnsafeMutableBytes { $0 })
        return bytes
    }

    /// The body of the one message `bytes` must be; `bytes` is wiped.
    private static func message(_ bytes: inout [UInt8], peer: String) throws(SecurityKeyError) -> [UInt8] {
        defer { secureWipe(&bytes) }
        guard bytes.count >= 4, Self.length(bytes) <= HelperMessage.maximumSize, bytes.count - 4 == Self.length(bytes)
        else {
            throw SecurityKeyError(.invalidResponse, "\(peer) sent a malformed message")
        }
        return Array(bytes[4...])
    }

    private static func length(_ bytes: [UInt8]) -> Int {
        Int(bytes[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// Writes all of `bytes`; false when the other side went away.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if count < 0, errno == ENOTSOCK {
                    let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    guard written > 0 else { return false }
                    offset += written
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
    }

    /// One line on standard error.
    static func complain(_ message: String) {
        let line = Array("keysmith-sk-helper: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
