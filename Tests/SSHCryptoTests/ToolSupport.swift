import Foundation
import Testing

/// Runs the real `ssh-keygen` and `openssl` for interop tests.
enum InteropTool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `executable` with `arguments`; throws unless it exits 0. Returns stdout.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description:
                    "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: stderr, as: UTF8.self))"
            )
        }
        return stdout
    }

    @discardableResult
    static func sshKeygen(_ arguments: String...) throws -> Data { try run("/usr/bin/ssh-keygen", arguments) }

    @discardableResult
    static func openssl(_ arguments: String...) throws -> Data { try run("/usr/bin/openssl", arguments) }
}

/// A temporary directory removed when the value goes away.
final class InteropDirectory {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "keysmith-sshcrypto-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: self.url) }

    func path(_ name: String) -> String { self.url.appendingPathComponent(name).path }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: self.url.appendingPathComponent(name))) }

    func readText(_ name: String) throws -> String { String(decoding: try self.read(name), as: UTF8.self) }

    /// Writes `text` with mode 0600, as ssh-keygen insists for private keys.
    func write(_ name: String, _ text: String) throws {
        let url = self.url.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    }
}

/// Hex helpers for test vectors.
extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }
}
