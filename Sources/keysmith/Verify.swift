import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an SSH signature of standard input against allowed signers (ssh-keygen -Y verify).",
        discussion: """
            Reads the message from standard input. On success prints \
            'Good "NAMESPACE" signature for IDENTITY with TYPE key FINGERPRINT' and exits 0; \
            otherwise prints 'Could not verify signature.', says why on standard error and \
            exits 1. With -r, a signature by a key listed in the revoked keys file (a KRL or \
            a list of public keys), or by a certificate it revokes, fails. A signature made with a user certificate is allowed by a cert-authority \
            line holding its CA key when the certificate lists the identity and is valid at \
            the verify time (now, or -O verify-time=).
            """
    )

    @Option(
        name: .customShort("f", allowingJoined: true),
        help: ArgumentHelp("allowed_signers file.", valueName: "allowed_signers")
    )
    var allowedSigners: String

    @Option(
        name: .customShort("I", allowingJoined: true),
        help: ArgumentHelp("Identity (principal) that must have signed.", valueName: "identity")
    )
    var identity: String

    @Option(
        name: .customShort("n", allowingJoined: true),
        help: ArgumentHelp("Signature namespace.", valueName: "namespace")
    )
    var namespace: String

    @Option(
        name: .customShort("s", allowingJoined: true),
        help: ArgumentHelp("Signature file.", valueName: "signature")
    )
    var signatureFile: String

    @Option(
        name: .customShort("r", allowingJoined: true),
        help: ArgumentHelp(
            "Revoked keys: a KRL or a list of public keys; a signature by one (or its CA) fails.",
            valueName: "revoked_keys"
        )
    )
    var revokedKeys: String?

    @OptionGroup var options: VerifyOptions

    func validate() throws {
        guard !self.namespace.isEmpty else { throw ValidationError("The namespace (-n) must not be empty.") }
        _ = try self.options.parsed()
    }

    func run() throws {
        try runVerification(
            signatureFile: self.signatureFile,
            namespace: self.namespace,
            identity: self.identity,
            allowedSigners: self.allowedSigners,
            revokedKeys: self.revokedKeys,
            options: self.options
        )
    }
}

/// `-O` options of verify, check-novalidate and find-principals, and `-q`.
struct VerifyOptions: ParsableArguments {
    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp(
            "verify-time=YYYYMMDD[HHMM[SS]][Z] to check validity at that time, or print-pubkey.",
            valueName: "option"
        )
    )
    var options: [String] = []

    @Flag(name: .customShort("q"), help: "Print nothing on standard output.")
    var quiet = false

    /// ssh-keygen's sig_process_opts: the verify time (now by default) and print-pubkey.
    func parsed(allowPrintPublicKey: Bool = true) throws -> (time: UInt64, printPublicKey: Bool) {
        var time: UInt64?
        var printPublicKey = false
        for option in self.options {
            if option.lowercased().hasPrefix("verify-time=") {
                guard let t = AllowedSigners.parseTime(option.dropFirst(12).utf8), t != 0 else {
                    throw ValidationError("Invalid \"verify-time\" option \"\(option)\"; use YYYYMMDD[HHMM[SS]][Z].")
                }
                time = t
            } else if allowPrintPublicKey && option.lowercased() == "print-pubkey" {
                printPublicKey = true
            } else {
                throw ValidationError("Invalid option \"\(option)\".")
            }
        }
        return (time ?? AllowedSigners.currentTime(), printPublicKey)
    }
}

/// Reads and de-armours a signature file.
func readSignatureFile(_ path: String) throws -> SSHSIGSignature {
    let text = try KeyFileIO.readFile(expandTilde(path))
    do {
        return try SSHSIGSignature(armored: text)
    } catch {
        throw Failure("\(path): \(error.message)")
    }
}

/// ssh-keygen.c sig_verify: verify and check-novalidate (`allowedSigners` nil).
func runVerification(
    signatureFile: String,
    namespace: String,
    identity: String?,
    allowedSigners: String?,
    revokedKeys: String? = nil,
    options: VerifyOptions
) throws {
    var result: Result<SSHSIGSignature, Error>
    do {
        let (time, _) = try options.parsed()
        let sig = try readSignatureFile(signatureFile)
        // The message is streamed from standard input, hashed as the signature says.
        let digest = try SSHSIGMessageHash(algorithm: sig.hashAlgorithm, fileDescriptor: 0)
        try sig.verify(messageHash: digest, namespace: namespace)
        // ssh-keygen.c sig_verify: sshkey_check_revoked before the allowed signers.
        if let revokedKeys {
            let path = expandTilde(revokedKeys)
            if try RevokedKeys(path: path).isRevoked(sig.publicKey) {
                throw Failure("the signing key \(sig.publicKey.fingerprint()) is revoked by \(revokedKeys)")
            }
        }
        if let allowedSigners, let identity {
            let signers = try AllowedSigners(path: expandTilde(allowedSigners))
            try signers.authorize(sig.publicKey, principal: identity, namespace: namespace, time: time)
        }
        result = .success(sig)
    } catch {
        result = .failure(error)
    }
    switch result {
    case .success(let sig):
        if !options.quiet {
            let key = "\(sig.publicKey.type.displayName) key \(sig.publicKey.fingerprint())"
            if let identity {
                writeOut("Good \"\(namespace)\" signature for \(identity) with \(key)\n")
            } else {
                writeOut("Good \"\(namespace)\" signature with \(key)\n")
            }
        }
        if (try? options.parsed().printPublicKey) == true {
            writeOut(sig.publicKey.openSSHLine() + "\n")
        }
    case .failure(let error):
        if !options.quiet { writeOut("Could not verify signature.\n") }
        try reportingFailures { throw error }
    }
}
