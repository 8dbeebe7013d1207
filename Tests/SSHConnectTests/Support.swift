import KeysmithTestSupport
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol
import Synchronization

extension SecureBytes {
    /// The bytes as text, for comparing in tests.
    var text: String { self.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

/// Collects what a connection would print, in order.
final class Transcript: Sendable {
    private let lines = Mutex<[String]>([])
    private let slow = Mutex<[String]>([])

    var events: ConnectionEvents {
        ConnectionEvents(
            diagnostic: { line in self.lines.withLock { $0.append(line) } },
            escapePeerText: { "<\($0)>" },
            slowStep: { message, body in
                self.slow.withLock { $0.append(message) }
                body()
            }
        )
    }

    var diagnostics: [String] { self.lines.withLock { $0 } }
    var slowSteps: [String] { self.slow.withLock { $0 } }
}

/// A home directory with an empty ssh_config, and the configuration of a destination there.
struct Home {
    let directory: TempDir

    init() throws {
        self.directory = try TempDir()
        try self.directory.write("ssh_config", "")
    }

    func path(_ name: String) -> String { self.directory.path(name) }

    func settings(_ options: [String] = [], port: Int? = nil) -> ConnectionSettings {
        ConnectionSettings(port: port, options: options, configFile: self.path("ssh_config"))
    }

    func config(_ destination: String = "alice@web1", options: [String] = []) throws -> SSHResolvedConfig {
        try self.settings(options).resolve(destination, home: self.directory.url.path, localUser: "me")
    }

    /// Writes a new Ed25519 private key file, encrypted when `passphrase` is given.
    @discardableResult
    func writeKey(_ name: String, passphrase: String? = nil) throws -> SSHPrivateKey {
        let key = try SSHPrivateKey(generating: .ed25519, comment: name)
        let file = try key.fileRepresentation(
            passphrase: passphrase.map { SecureBytes(utf8: $0) },
            options: OpenSSHKeyFileOptions(rounds: 1)
        )
        try self.directory.write(name, file.text)
        return key
    }
}
