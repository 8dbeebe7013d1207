import SSHCrypto
public import SSHKeys
public import SSHProtocol
import Synchronization

/// The identity files of one run: each read, and its passphrase asked, at most once,
/// whichever host needs it first (the others wait for it), and never in batch mode.
public final class IdentityStore: Sendable {
    private let loaded = Mutex<[String: SSHPrivateKey?]>([:])
    private let prompter: any Prompter
    private let events: ConnectionEvents
    /// Keys offered before the configured identity files (rotate's old key).
    public let extraKeys: [(label: String, key: SSHPrivateKey)]

    public init(
        extraKeys: [(label: String, key: SSHPrivateKey)] = [],
        prompter: any Prompter,
        events: ConnectionEvents = ConnectionEvents()
    ) {
        self.extraKeys = extraKeys
        self.prompter = prompter
        self.events = events
    }

    /// The keys to offer for `config`, in order: the extra keys, then the identity files'
    /// private keys in the order configured: unencrypted ones always; encrypted ones that
    /// were named explicitly after asking for the passphrase (never in batch mode); ssh's
    /// default files that are missing or encrypted are skipped.
    ///
    /// An encrypted file whose public key (in the file's clear header, else `FILE.pub`)
    /// PubkeyAcceptedAlgorithms or RequiredRSASize leaves out is skipped before its
    /// passphrase is asked for, as ssh filters the public keys it loaded beforehand
    /// (sshconnect2.c `pubkey_prepare`).
    public func identities(_ config: SSHResolvedConfig) -> [(label: String, key: SSHPrivateKey)] {
        let accepted = (try? config.publicKeyAlgorithms()) ?? SSHAlgorithms.defaultPublicKey
        let minimum = config.requiredRSASize
        let refusal: @Sendable (SSHPublicKey) -> String? = { key in
            if key.type.plainType == .rsa && key.bits < max(1024, minimum) {
                return "its \(key.bits) bits are fewer than RequiredRSASize \(minimum)"
            }
            guard SSHAuthIdentity.isAllowed(key, accepted: accepted) else {
                return "its algorithm is not in PubkeyAcceptedAlgorithms"
            }
            return nil
        }
        return self.extraKeys
            + config.identityFiles.compactMap { path in
                let policy = "\(config.pubkeyAcceptedAlgorithms ?? "") \(minimum)"
                let slot = "\(config.identityFilesAreDefaults) \(config.batchMode) \(policy) \(path)"
                let key = self.loaded.withLock { loaded -> SSHPrivateKey? in
                    if let known = loaded[slot] { return known }
                    let key = Self.load(
                        path,
                        defaults: config.identityFilesAreDefaults,
                        batch: config.batchMode,
                        prompter: self.prompter,
                        events: self.events,
                        refusal: refusal
                    )
                    loaded[slot] = key
                    return key
                }
                return key.map { (path, $0) }
            }
    }

    /// The user certificates to offer for `config`, in order: the `CertificateFile`s, or
    /// when none is configured, `FILE-cert.pub` beside each identity file (ssh.c
    /// `load_public_identity_files`). A file that does not hold a user certificate is passed
    /// over, with a diagnostic when it was named.
    public func certificates(_ config: SSHResolvedConfig) -> [(label: String, certificate: SSHPublicKey)] {
        guard config.certificateFiles.isEmpty else {
            return config.certificateFiles.compactMap { Self.loadCertificate($0, named: true, events: self.events) }
        }
        return config.identityFiles.compactMap {
            Self.loadCertificate($0 + "-cert.pub", named: false, events: self.events)
        }
    }

    /// Reads one certificate file: its first key line, which must be a user certificate.
    static func loadCertificate(
        _ path: String,
        named: Bool,
        events: ConnectionEvents
    ) -> (label: String, certificate: SSHPublicKey)? {
        guard KeyFileIO.fileExists(path) else {
            if named { events.diagnostic("keysmith: no certificate file \(path); skipping it") }
            return nil
        }
        let text = (try? KeyFileIO.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let line = text.split(whereSeparator: \.isNewline).first {
            !$0.hasPrefix("#") && !$0.allSatisfy(\.isWhitespace)
        }
        guard let line, let key = SSHPublicKey.parseLine(line)?.key, let certificate = key.certificate,
            certificate.kind == .user
        else {
            if named { events.diagnostic("keysmith: \(path) does not hold a user certificate; skipping it") }
            return nil
        }
        return (path, key)
    }

    /// Reads one identity file, asking for its passphrase when it is encrypted, it was
    /// named explicitly (`defaults` false) and `batch` is off, and `refusal` finds nothing
    /// against its public key (in the file's clear header, else `FILE.pub`).
    /// - Returns: nil (with a diagnostic where ssh gives one) when the key cannot be had.
    public static func load(
        _ path: String,
        defaults: Bool,
        batch: Bool,
        prompter: any Prompter,
        events: ConnectionEvents,
        refusal: (SSHPublicKey) -> String? = { _ in nil }
    ) -> SSHPrivateKey? {
        guard KeyFileIO.fileExists(path) else {
            if !defaults { events.diagnostic("keysmith: no identity file \(path); skipping it") }
            return nil
        }
        guard var contents = try? KeyFileIO.readPrivateKeyFile(path) else {
            events.diagnostic(
                "keysmith: cannot read the identity file \(path) (check that it exists and is chmod 600); skipping it"
            )
            return nil
        }
        // The file's bytes are the key when it is not encrypted; zero them once it is decoded.
        defer { secureWipe(&contents) }
        if !SSHPrivateKey.isEncrypted(fileContents: contents) { return try? SSHPrivateKey(fileContents: contents) }
        if defaults || batch { return nil }
        let publicKey =
            (try? OpenSSHPrivateKeyFormat.publicKey(fromFile: contents))
            ?? (try? KeyFileIO.readFile(path + ".pub")).flatMap {
                SSHPublicKey.parseLine(Substring(String(decoding: $0, as: UTF8.self)))?.key
            }
        if let publicKey, let reason = refusal(publicKey) {
            events.diagnostic("keysmith: skipping \(publicKey.type.sshName) key \(path): \(reason)")
            return nil
        }
        var key: SSHPrivateKey? = nil
        if let pass = prompter.askSecret("Enter passphrase for key '\(path)': ", reportingFailureTo: events.diagnostic)
        {
            events.slowStep("deriving the key from the passphrase") {
                key = try? SSHPrivateKey(fileContents: contents, passphrase: pass)
            }
        }
        guard let key else {
            events.diagnostic("keysmith: could not decrypt \(path); skipping it")
            return nil
        }
        return key
    }
}
