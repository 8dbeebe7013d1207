public import Foundation

/// Paths of the reference tools the interop tests run.
public enum Tool {
    /// OpenSSH's key tool.
    public static let sshKeygen = "/usr/bin/ssh-keygen"
    /// The OpenSSL command line.
    public static let openssl = "/usr/bin/openssl"
    /// Debian's Python, which `make deps` provides with python3-bcrypt (not a pyenv shim).
    public static let python = "/usr/bin/python3"
    /// OpenSSH's client, the proof of every deploy.
    public static let ssh = "/usr/bin/ssh"
}

/// What a finished program produced.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdoutData: Data
    public var stderrData: Data

    public init(status: Int32, stdoutData: Data, stderrData: Data) {
        self.status = status
        self.stdoutData = stdoutData
        self.stderrData = stderrData
    }

    /// stdout decoded as UTF-8.
    public var stdout: String { String(decoding: self.stdoutData, as: UTF8.self) }
    /// stderr decoded as UTF-8.
    public var stderr: String { String(decoding: self.stderrData, as: UTF8.self) }

    public var description: String { "exit \(self.status)\nstdout: \(self.stdout)\nstderr: \(self.stderr)" }

    /// This result if the program exited 0.
    ///
    /// - Throws: ``ProcessFailure`` naming the command, its status and its stderr.
    public func checked(_ command: String) throws(ProcessFailure) -> ProcessResult {
        guard self.status == 0 else {
            throw ProcessFailure(description: "\(command) exited \(self.status): \(self.stderr)")
        }
        return self
    }
}

/// A program that exited non-zero when the test needed it to succeed.
public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// Runs `executable` with `arguments` and waits for it to end.
///
/// stdin, stdout and stderr are serviced at the same time, so a child that fills one
/// pipe while we feed or drain another never deadlocks. The child gets our environment
/// with `LC_ALL=C.UTF-8`, then `environment` on top.
///
/// - Parameters:
///   - executable: The program's absolute path.
///   - arguments: Its arguments, without the program name.
///   - input: Bytes written to its stdin, which is then closed; `nil` gives it an empty stdin.
///   - environment: Variables added to, or replacing, the inherited ones.
///   - directory: Its working directory; `nil` keeps ours.
/// - Throws: When the program cannot be started.
@discardableResult
public func runProcess(
    _ executable: String,
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String] = [:],
    directory: URL? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["LC_ALL"] = "C.UTF-8"
    env.merge(environment) { _, new in new }
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()

    let errData = DataBox()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
        errData.set(stderr.fileHandleForReading.readDataToEndOfFile())
    }
    let writer = stdin.fileHandleForWriting
    DispatchQueue.global().async(group: group) {
        // A child that exits without reading its input closes the pipe; ignore EPIPE then.
        if let input, !input.isEmpty { try? writer.write(contentsOf: input) }
        try? writer.close()
    }
    let outData = stdout.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdoutData: outData, stderrData: errData.get())
}

/// One `Data` handed from a reader thread to the caller under a lock.
private final class DataBox: @unchecked Sendable {  // @unchecked: every access holds `lock`
    private let lock = NSLock()
    private var data = Data()

    func set(_ data: Data) { self.lock.withLock { self.data = data } }

    func get() -> Data { self.lock.withLock { self.data } }
}
