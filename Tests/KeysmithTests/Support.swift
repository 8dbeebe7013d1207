import Foundation
import Testing

/// The result of running a program.
struct Run: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data

    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs `executable` with `arguments`, feeding `input` on stdin; waits for it to end.
@discardableResult
func run(
    _ executable: String,
    _ arguments: [String],
    input: Data? = nil,
    environment: [String: String] = [:],
    cwd: URL? = nil
) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["LC_ALL"] = "C.UTF-8"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let cwd { process.currentDirectoryURL = cwd }
    let out = Pipe()
    let err = Pipe()
    let inp = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inp
    try process.run()
    if let input { inp.fileHandleForWriting.write(input) }
    try? inp.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child never blocks on a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }  // written before group.leave(), read after wait()
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self),
        stdoutBytes: outData
    )
}

/// The keysmith executable built beside the test bundle.
let keysmithPath: String = {
    if let path = ProcessInfo.processInfo.environment["KEYSMITH_BIN"] { return path }
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    // The runner may live inside a .xctest bundle directory.
    for _ in 0..<3 {
        let candidate = dir.appendingPathComponent("keysmith").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return "keysmith"
}()

let sshKeygen = "/usr/bin/ssh-keygen"

/// Runs keysmith.
@discardableResult
func keysmith(_ arguments: String..., input: Data? = nil) throws -> Run {
    try run(keysmithPath, arguments, input: input)
}

/// Runs keysmith with an argument array.
@discardableResult
func keysmith(arguments: [String], input: Data? = nil) throws -> Run {
    try run(keysmithPath, arguments, input: input)
}

/// Runs ssh-keygen.
@discardableResult
func keygen(_ arguments: [String], input: Data? = nil) throws -> Run {
    try run(sshKeygen, arguments, input: input)
}

/// A fresh temporary directory, removed when the value is released.
final class TempDir: @unchecked Sendable {
    let url: URL
    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("keysmith-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: base,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        self.url = base
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

func readBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
func readText(_ path: String) throws -> String { String(decoding: try readBytes(path), as: UTF8.self) }
func writeText(_ path: String, _ text: String, mode: Int = 0o600) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}
func fileMode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
}

/// The public line without its comment: `type base64`.
func keyPart(_ line: String) -> String {
    line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").prefix(2).joined(separator: " ")
}
