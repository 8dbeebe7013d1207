import Foundation
import KeysmithTestSupport

/// Runs the real `ssh-keygen` and `openssl` for interop tests; each throws unless the tool exits 0.
enum InteropTool {
    /// A check that failed outside any tool, such as an unexpected key type.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `executable` with `arguments`. Returns stdout.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Data {
        let command = ([executable] + arguments).joined(separator: " ")
        return try runProcess(executable, arguments).checked(command).stdoutData
    }

    @discardableResult
    static func sshKeygen(_ arguments: String...) throws -> Data { try run(Tool.sshKeygen, arguments) }

    @discardableResult
    static func openssl(_ arguments: String...) throws -> Data { try run(Tool.openssl, arguments) }
}
