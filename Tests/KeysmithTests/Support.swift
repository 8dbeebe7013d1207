import Foundation
import KeysmithTestSupport
import Testing

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

/// Checks that keysmith's `-v` output on `stderr` names the negotiated algorithms as
/// `ssh -v` does: this key exchange, host key algorithm and cipher both ways, and the MAC
/// (`<implicit>` for an AEAD cipher; not checked when `mac` is nil and the cipher needs one).
func expectNegotiated(
    _ stderr: String,
    kex: String,
    hostKey: String,
    cipher: String,
    mac: String?,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let lines = stderr.split(separator: "\n").map(String.init)
    let aead = cipher.hasSuffix("-gcm@openssh.com") || cipher == "chacha20-poly1305@openssh.com"
    let expectedMAC = aead ? "<implicit>" : mac
    #expect(lines.contains("keysmith: kex: algorithm: \(kex)"), "\(stderr)", sourceLocation: sourceLocation)
    #expect(
        lines.contains("keysmith: kex: host key algorithm: \(hostKey)"),
        "\(stderr)",
        sourceLocation: sourceLocation
    )
    for direction in ["server->client", "client->server"] {
        let prefix = "keysmith: kex: \(direction) cipher: \(cipher) MAC: "
        let line = lines.first { $0.hasPrefix(prefix) && $0.hasSuffix(" compression: none") }
        #expect(line != nil, "\(direction) \(cipher): \(stderr)", sourceLocation: sourceLocation)
        if let line, let expectedMAC {
            #expect(line == prefix + expectedMAC + " compression: none", "\(stderr)", sourceLocation: sourceLocation)
        }
    }
}
