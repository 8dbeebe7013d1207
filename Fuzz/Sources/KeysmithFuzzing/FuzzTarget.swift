import Foundation
import KeyVerify
import SSHCrypto
import SSHKeys
import SSHProtocol

/// keysmith's fuzz targets: each takes arbitrary bytes and hands them to one family of
/// parsers, as a hostile file, line or peer would. A target may see any error thrown and
/// ignore it; it must never crash, hang, leak or use memory without bound.
///
/// The libFuzzer executables in `Fuzz/Sources/Fuzz*` call ``run(_:)`` (built only with
/// `KEYSMITH_FUZZ=1`, see docs/fuzzing.md); the test suite replays every seed corpus and
/// every regression input through the same function.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Private key files: openssh-key-v1 (encrypted ones with the passphrase `fuzz-passphrase`), PEM, PKCS#8, DER.
    case privateKey = "FuzzPrivateKey"
    /// Public key files: OpenSSH lines, RFC 4716, PEM/DER SubjectPublicKeyInfo and PKCS#1, wire blobs.
    case publicKey = "FuzzPublicKey"
    /// authorized_keys, known_hosts and allowed_signers files, with matching.
    case keyLines = "FuzzKeyLines"
    /// SSHSIG signatures, armoured and as blobs, verified over a fixed message.
    case sshsig = "FuzzSSHSIG"
    /// Challenge tokens and responses.
    case challenge = "FuzzChallenge"
    /// The client transport from the server's first byte (banner, packets, KEXINIT, kex replies).
    case transport = "FuzzTransport"
    /// The binary packet decoder, plain and under each cipher and MAC.
    case packet = "FuzzPacket"
    /// KEXINIT parsing and algorithm negotiation.
    case kexInit = "FuzzKexInit"
    /// User authentication messages from the server.
    case userAuth = "FuzzUserAuth"
    /// Connection-layer channel messages from the server.
    case connection = "FuzzConnection"
    /// SFTP replies.
    case sftp = "FuzzSFTP"
    /// The server transport from the client's first byte (`keysmith serve`).
    case serverTransport = "FuzzServerTransport"
    /// Server-side user authentication messages from the client.
    case serverUserAuth = "FuzzServerUserAuth"
    /// Server-side session channel messages from the client.
    case serverSession = "FuzzServerSession"
    /// Ed25519 verification: the prepared-key path against libsodium on mutated keys,
    /// messages and signatures; any disagreement is a crash.
    case ed25519 = "FuzzEd25519"
    /// Key revocation lists (KRLs), revocation spec files and sshd RevokedKeys files; a KRL
    /// that reads is written back, and must read again to the same bytes.
    case krl = "FuzzKRL"

    /// Runs one input through the target.
    public func run(_ data: [UInt8]) {
        switch self {
        case .privateKey: Self.privateKey(data)
        case .publicKey: Self.publicKey(data)
        case .keyLines: Self.keyLines(data)
        case .sshsig: Self.sshsig(data)
        case .challenge: Self.challenge(data)
        case .transport: ProtocolFuzzing.clientTransport(data)
        case .packet: ProtocolFuzzing.packetDecoder(data)
        case .kexInit: ProtocolFuzzing.kexInit(data)
        case .userAuth: ProtocolFuzzing.userAuth(data)
        case .connection: ProtocolFuzzing.connection(data)
        case .sftp: ProtocolFuzzing.sftpReplies(data)
        case .serverTransport: ProtocolFuzzing.serverTransport(data)
        case .serverUserAuth: ProtocolFuzzing.serverUserAuth(data)
        case .serverSession: ProtocolFuzzing.serverSession(data)
        case .krl: Self.krl(data)
        case .ed25519:
            if let disagreement = Ed25519Differential.disagreement(data) {
                fatalError("Ed25519 paths disagree: \(disagreement)")
            }
        }
    }

    /// The passphrase of the encrypted seeds.
    public static let passphrase = "fuzz-passphrase"
    /// The most bcrypt rounds a target pays for; more and the key is read without a passphrase
    /// (the header and public half are still parsed). The seeds use 2.
    static let maximumRounds: UInt32 = 16

    private static func privateKey(_ data: [UInt8]) {
        let passphrase = Self.cheapRounds(data) ? SecureBytes(utf8: Self.passphrase) : nil
        if let key = try? SSHPrivateKey(fileContents: data, passphrase: passphrase) {
            // What a successful read leads to: the public half and a signature.
            _ = key.publicKey.openSSHLine(comment: key.comment)
            _ = try? key.signature(for: data)
        }
        _ = SSHPrivateKey.isEncrypted(fileContents: data)
    }

    /// Whether an openssh-key-v1 input asks for few enough bcrypt rounds to try a passphrase.
    package static func cheapRounds(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return true }
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let bytes = Base64.decode(body) else { return false }
        var r = SSHWireReader(bytes)
        guard (try? r.readBytes(15)) != nil, (try? r.readString()) != nil, (try? r.readString()) != nil,
            let options = try? r.readString()
        else { return false }
        var kdf = SSHWireReader(options)
        guard (try? kdf.readString()) != nil, let rounds = try? kdf.readUInt32() else { return true }
        return rounds <= Self.maximumRounds
    }

    private static func krl(_ data: [UInt8]) {
        // Made per input: a global holding keys reads as a leak to LeakSanitizer.
        let blob = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + Array(0..<32)
        let plain = try? SSHPublicKey(wireBlob: blob)
        if let krl = try? KeyRevocationList(bytes: data) {
            if let plain { _ = krl.isRevoked(plain) }
            if let written = try? krl.serialized() {
                guard let again = try? KeyRevocationList(bytes: written), (try? again.serialized()) == written else {
                    fatalError("a KRL keysmith wrote does not read back to the same bytes")
                }
            }
        }
        var fromSpec = KeyRevocationList()
        if (try? fromSpec.update(fromSpec: data, named: "spec", authority: plain, anyAuthority: false)) != nil {
            _ = try? fromSpec.serialized()
        }
        if let revoked = try? RevokedKeys(bytes: data), let plain { _ = revoked.isRevoked(plain) }
    }

    private static func publicKey(_ data: [UInt8]) {
        var keys: [SSHPublicKey] = []
        switch KeyFileKind(contents: data) {
        case .rfc4716PublicKey:
            if let (key, _) = try? RFC4716.decode(data) { keys.append(key) }
        case .pemPublicKey, .pemPrivateKey:
            if let key = try? SSHPublicKey(pem: data) { keys.append(key) }
        case .publicKeyLines, .openSSHPrivateKey:
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n") {
                if let parsed = SSHPublicKey.parseLine(line) { keys.append(parsed.key) }
            }
        }
        if let key = try? SSHPublicKey(wireBlob: data) { keys.append(key) }
        for key in keys {
            // Everything printed about a key that was read.
            _ = key.openSSHLine(comment: "c")
            _ = key.rfc4716Representation(comment: "c")
            _ = try? key.pemRepresentation()
            _ = try? key.pkcs8Representation()
            _ = key.fingerprint(.sha256).description
            _ = key.fingerprint(.md5).bubbleBabble
            _ = key.fingerprint(.sha256).randomArt(title: "KEY")
        }
    }

    private static func keyLines(_ data: [UInt8]) {
        let authorized = AuthorizedKeysFile(contents: data, path: "authorized_keys")
        for entry in authorized.entries.prefix(8) {
            _ = authorized.authorizes(entry.key, from: "192.0.2.7", hostName: "client.example", at: 1_700_000_000)
            _ = authorized.authorizes(entry.key, from: "2001:db8::7", at: 1_700_000_000)
        }
        let knownHosts = KnownHostsFile(contents: data)
        _ = knownHosts.find(host: "host.example")
        _ = knownHosts.findOutput(host: "[host.example]:2222", hash: true)
        _ = knownHosts.removing(host: "host.example")
        _ = knownHosts.hashed(salt: { [UInt8](repeating: 1, count: 20) })
        let signers = AllowedSigners(contents: data, path: "allowed_signers")
        if let entries = try? signers.entries() {
            for entry in entries.prefix(8) {
                _ = try? signers.authorize(
                    entry.publicKey,
                    principal: "me@example",
                    namespace: "file",
                    time: 1_700_000_000
                )
                _ = try? signers.principals(for: entry.publicKey, time: 1_700_000_000)
            }
        }
        // Each line as the listings read it: a key, or the reason it holds none.
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(64) {
            lineNumber += 1
            _ = UnreadableKeyLine.diagnose(line, lineNumber: lineNumber)
        }
    }

    private static func sshsig(_ data: [UInt8]) {
        let message = Array("fuzz\n".utf8)
        for signature in [try? SSHSIGSignature(armored: data), try? SSHSIGSignature(blob: data)] {
            guard let signature else { continue }
            _ = try? signature.verify(message, namespace: "file")
            _ = signature.armored
        }
    }

    private static func challenge(_ data: [UInt8]) {
        guard let verifier = Self.verifier else { return }
        let parts = data.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false)
        let tokenText = String(decoding: parts.first ?? [], as: UTF8.self)
        if let token = try? ChallengeToken(text: tokenText) {
            _ = try? verifier.checkToken(token, now: 1_700_000_000)
        }
        // A genuine token with the rest as the response, as `challenge verify` reads it.
        let response = String(decoding: parts.count > 1 ? parts[1] : [], as: UTF8.self)
        if let token = try? verifier.issue(now: 1_700_000_000) {
            _ = try? verifier.verify(
                token: token.text,
                response: response,
                authorizedKeys: AuthorizedKeysFile(contents: [], path: "authorized_keys"),
                now: token.issuedAt
            )
        }
    }

    /// One state directory per process, removed by nobody: it is small and under /tmp.
    /// Tokens are issued per input: a token held in a global was reported by LeakSanitizer
    /// (Swift packs spare bits into the Optional's pointers, so the scan cannot see them).
    private static let verifier: ChallengeVerifier? = {
        let directory = NSTemporaryDirectory() + "keysmith-fuzz-\(getpid())"
        return try? ChallengeVerifier(stateDirectory: directory, audience: "fuzz.example")
    }()
}
