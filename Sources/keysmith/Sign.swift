import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign files with an SSH key (ssh-keygen -Y sign).",
        discussion: """
            Writes an armoured SSHSIG signature of each FILE to FILE.sig, or of standard input \
            to standard output when FILE is - or absent. The message is hashed with SHA-512 \
            (-O hashalg=sha256 for SHA-256); RSA keys sign with rsa-sha2-512. When FILE.sig \
            exists you are asked on standard input whether to overwrite it, as ssh-keygen asks; \
            any answer but y keeps it and the exit status is 1. A security key signs on its \
            authenticator, through the provider of -w, else SSH_SK_PROVIDER, else libfido2. \
            With -U the key is in ssh-agent (SSH_AUTH_SOCK): -f names its public key, and the \
            agent signs, as ssh-keygen -Y sign -U.
            """
    )

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp(
            "Private key file, its .pub file, or KEY-cert.pub to sign presenting that certificate.",
            valueName: "file"
        )
    )
    var keyFile: String

    @Option(
        name: .customShort("n", allowingJoined: true),
        help: ArgumentHelp("Signature namespace, e.g. file, git or email.", valueName: "namespace")
    )
    var namespace: String

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Passphrase of the private key.", valueName: "passphrase")
    )
    var passphrase: String?

    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp("Signing option: hashalg=sha256 or hashalg=sha512.", valueName: "option")
    )
    var options: [String] = []

    @OptionGroup var securityKey: SecurityKeyProviderOption

    @Flag(
        name: .customShort("U"),
        help: "The key is in ssh-agent: -f names its public key, and the agent signs."
    )
    var useAgent = false

    @Flag(name: .customShort("q"), help: "Do not report each file signed.")
    var quiet = false

    @Argument(help: ArgumentHelp("Files to sign; - for standard input.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        guard !self.namespace.isEmpty else { throw ValidationError("The namespace (-n) must not be empty.") }
        if self.files.contains("-") && self.files.count > 1 {
            throw ValidationError("Cannot sign a mix of paths and standard input.")
        }
        _ = try self.hashAlgorithm()
    }

    /// `-O hashalg=`, matched case-insensitively as ssh-keygen's sig_process_opts does.
    func hashAlgorithm() throws -> SSHSIGSignature.HashAlgorithm {
        var result = SSHSIGSignature.HashAlgorithm.default
        for option in self.options {
            guard option.lowercased().hasPrefix("hashalg=") else {
                throw ValidationError("Invalid option \"\(option)\"; sign accepts -O hashalg=sha256|sha512.")
            }
            let name = String(option.dropFirst(8))
            guard let hash = SSHSIGSignature.HashAlgorithm(rawValue: name) else {
                throw ValidationError("Unsupported hash algorithm \"\(name)\"; use sha256 or sha512.")
            }
            result = hash
        }
        return result
    }

    func run() throws {
        try reportingFailures {
            let hash = try self.hashAlgorithm()
            let signer: SSHKeySigner
            if self.useAgent {
                signer = try agentSigner(publicKeyFile: expandTilde(self.keyFile))
            } else {
                let path = try signingKeyPath(expandTilde(self.keyFile))
                let (key, _) = try loadPrivateKey(path: path, passphrase: self.passphrase)
                signer = try signerPresentingCertificate(
                    keySigner(for: key, provider: self.securityKey),
                    given: expandTilde(self.keyFile)
                )
            }
            var kept: [String] = []
            let targets = self.files.isEmpty ? ["-"] : self.files
            for file in targets {
                if file == "-" {
                    if !self.quiet { printError("Signing data on standard input") }
                    let digest = try SSHSIGMessageHash(algorithm: hash, fileDescriptor: 0)
                    let sig = try SSHSIGSignature.sign(messageHash: digest, signer: signer, namespace: self.namespace)
                    writeOut(sig.armored)
                    continue
                }
                if !self.quiet { printError("Signing file \(file)") }
                let fd = open(file, O_RDONLY)
                guard fd >= 0 else {
                    throw Failure("cannot open \(file) for signing: \(String(cString: strerror(errno)))")
                }
                defer { close(fd) }
                let digest = try SSHSIGMessageHash(algorithm: hash, fileDescriptor: fd, name: file)
                let sig = try SSHSIGSignature.sign(messageHash: digest, signer: signer, namespace: self.namespace)
                let target = file + ".sig"
                guard confirmOverwrite(target) else {
                    kept.append(target)
                    continue
                }
                // ssh-keygen creates the file 0666 less the umask.
                let mask = umask(0o022)
                umask(mask)
                try KeyFileIO.writeAtomically(
                    path: target,
                    contents: Array(sig.armored.utf8),
                    mode: UInt32(0o666 & ~mask),
                    overwrite: true
                )
                if !self.quiet { printError("Write signature to \(target)") }
            }
            if !kept.isEmpty {
                throw Failure("\(kept.joined(separator: ", ")) already exists; not overwritten")
            }
        }
    }
}

/// A signer whose signatures ssh-agent makes with the key of `publicKeyFile` (ssh-keygen -Y
/// sign -U): RSA signs with rsa-sha2-512, as SSHSIG wants. The agent is connected to for
/// each signature, so the signer stays `Sendable`.
private func agentSigner(publicKeyFile path: String) throws -> SSHKeySigner {
    guard let (key, _) = loadPublicKeyLikeSSHAdd(path) else {
        throw Failure("cannot read a public key from \(path)")
    }
    let algorithm = key.plainKey.type == .rsa ? "rsa-sha2-512" : key.type.sshName
    return try agentSigner(for: key, algorithm: algorithm, named: path)
}

/// A signer whose signatures ssh-agent (at `SSH_AUTH_SOCK`) makes with `key`, under
/// `algorithm` (for RSA the flags ask for it), as ssh-keygen's `-U` signs.
func agentSigner(for key: SSHPublicKey, algorithm: String, named path: String) throws -> SSHKeySigner {
    guard let socket = getenv("SSH_AUTH_SOCK").map({ String(cString: $0) }), !socket.isEmpty else {
        throw Failure("-U needs a running ssh-agent, and SSH_AUTH_SOCK is not set")
    }
    return agentSigner(for: key, algorithm: algorithm, socket: socket) { error in
        SSHKeyError(.cryptoFailure, "ssh-agent did not sign with the key of \(path): \(error)")
    }
}

/// A signer whose signatures the agent at `socket` makes with `key` under `algorithm`,
/// connecting for each signature so the signer stays `Sendable`; `failure` words what the
/// agent's connection or answer did wrong.
func agentSigner(
    for key: SSHPublicKey,
    algorithm: String,
    socket: String,
    failure: @escaping @Sendable (SSHProtocolError) -> SSHKeyError
) -> SSHKeySigner {
    SSHKeySigner(publicKey: key) { (data) throws(SSHKeyError) in
        do throws(SSHProtocolError) {
            let agent = try SSHAgentClient(socketPath: socket)
            return try agent.sign(data, with: key, algorithm: algorithm)
        } catch {
            throw failure(error)
        }
    }
}

/// ssh-keygen's confirm_overwrite: asks on standard input when `path` exists; true for y or Y.
private func confirmOverwrite(_ path: String) -> Bool {
    guard KeyFileIO.fileExists(path) else { return true }
    printError("\(path) already exists.")
    let prompt = Array("Overwrite (y/n)? ".utf8)
    prompt.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    var answer: UInt8 = 0
    guard read(0, &answer, 1) == 1 else { return false }
    // Consume the rest of the line so a second question reads a fresh answer.
    var c = answer
    while c != UInt8(ascii: "\n") && read(0, &c, 1) == 1 {}
    return answer == UInt8(ascii: "y") || answer == UInt8(ascii: "Y")
}
