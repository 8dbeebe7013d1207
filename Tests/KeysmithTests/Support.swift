import Foundation
import KeysmithTestSupport

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

/// Runs keysmith.
@discardableResult
func keysmith(_ arguments: String..., input: Data? = nil) throws -> ProcessResult {
    try runProcess(keysmithPath, arguments, input: input)
}

/// Runs keysmith with an argument array.
@discardableResult
func keysmith(arguments: [String], input: Data? = nil) throws -> ProcessResult {
    try runProcess(keysmithPath, arguments, input: input)
}

/// Runs ssh-keygen.
@discardableResult
func keygen(_ arguments: [String], input: Data? = nil) throws -> ProcessResult {
    try runProcess(Tool.sshKeygen, arguments, input: input)
}

/// The public line without its comment: `type base64`.
func keyPart(_ line: String) -> String {
    line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").prefix(2).joined(separator: " ")
}
