import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct CertSign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign public keys with a CA key into certificates (ssh-keygen -s).",
        discussion: """
            Writes KEY-cert.pub beside each KEY.pub (the .pub taken off first), with the key's \
            comment, and reports each on standard error as ssh-keygen does. Every key is read and \
            signed before any certificate is written, so a failure writes nothing. A user \
            certificate gets the extensions permit-X11-forwarding, permit-agent-forwarding, \
            permit-port-forwarding, permit-pty and permit-user-rc unless -O takes them away; a \
            host certificate (-h) gets none.

            -O takes ssh-keygen's options: clear, force-command=COMMAND, \
            source-address=ADDRESS/BITS[,...], verify-required, no-touch-required, \
            no-x11-forwarding, no-agent-forwarding, no-port-forwarding, no-pty, no-user-rc, \
            permit-x11-forwarding, permit-agent-forwarding, permit-port-forwarding, permit-pty, \
            permit-user-rc, critical:NAME[=VALUE] and extension:NAME[=VALUE].

            -V takes ssh-keygen's validity forms: +52w (from a minute ago to 52 weeks from now), \
            or FROM:TO where FROM is always and TO is forever, or either is +TIME or -TIME \
            relative to now (TIME a number of seconds, or numbers with s, m, h, d, w), \
            YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS in local time (UTC with a trailing Z), or \
            0x and hexadecimal seconds since the epoch. The default is always:forever.

            An RSA CA signs with rsa-sha2-512 unless -t asks for rsa-sha2-256 or ssh-rsa. A \
            security key CA signs on its authenticator, through the provider of -w, else \
            SSH_SK_PROVIDER, else libfido2. With -U the CA key is held by ssh-agent \
            (SSH_AUTH_SOCK): -s names its public key, and the agent signs, as ssh-keygen -U.
            """
    )

    @Option(
        name: .customShort("s", allowingJoined: true),
        help: ArgumentHelp("The CA's private key file.", valueName: "ca_key")
    )
    var caKey: String

    @Option(
        name: .customShort("I", allowingJoined: true),
        parsing: .unconditional,
        help: ArgumentHelp("Key ID, logged by sshd when the certificate is used.", valueName: "key_id")
    )
    var keyID: String

    @Option(
        name: .customShort("n", allowingJoined: true),
        parsing: .unconditional,
        help: ArgumentHelp("Principals (user or host names), separated by commas.", valueName: "principals")
    )
    var principals: String?

    @Option(
        name: .customShort("V", allowingJoined: true),
        parsing: .unconditional,
        help: ArgumentHelp("Validity interval (default always:forever).", valueName: "validity")
    )
    var validity: String?

    @Option(
        name: .customShort("z", allowingJoined: true),
        parsing: .unconditional,
        help: ArgumentHelp("Serial number; +N numbers the keys N, N+1, ...", valueName: "serial")
    )
    var serial: String?

    @Flag(name: .customShort("h"), help: "Sign host certificates rather than user certificates.")
    var host = false

    @Option(
        name: .customShort("O", allowingJoined: true),
        help: ArgumentHelp("Certificate option (see above); may be repeated.", valueName: "option")
    )
    var options: [String] = []

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp(
            "CA signature algorithm: rsa-sha2-512 (default), rsa-sha2-256 or ssh-rsa for an RSA CA.",
            valueName: "algorithm"
        )
    )
    var signatureAlgorithm: String?

    @Option(
        name: .customShort("P", allowingJoined: true),
        help: ArgumentHelp("Passphrase of the CA key.", valueName: "passphrase")
    )
    var passphrase: String?

    @Flag(
        name: .customShort("U"),
        help: "The CA key is in ssh-agent: -s names its public key, and the agent signs."
    )
    var agent = false

    @OptionGroup var securityKey: SecurityKeyProviderOption

    @Flag(name: .customShort("q"), help: "Do not report each certificate written.")
    var quiet = false

    @Argument(help: ArgumentHelp("Public key files to certify.", valueName: "key.pub"))
    var keys: [String]

    func validate() throws {
        guard !self.keys.isEmpty else { throw ValidationError("Give at least one public key file to certify.") }
        _ = try self.serialNumber()
        _ = try self.certificateOptions()
        _ = try self.principalList()
        if let validity = self.validity {
            do {
                _ = try CertificateValidity(parsing: validity, now: Int64(time(nil)))
            } catch {
                throw ValidationError("Invalid validity (-V): \(error.message).")
            }
        }
    }

    /// ssh-keygen's `-z`: decimal, with a leading `+` to count up from it key by key.
    func serialNumber() throws -> (first: UInt64, increments: Bool) {
        guard let text = self.serial else { return (0, false) }
        guard let serial = Self.parseSerial(text) else {
            let digits = text.hasPrefix("+") ? String(text.dropFirst()) : text
            throw ValidationError("Invalid serial number \"\(digits)\" (-z takes a decimal number, or + and one).")
        }
        return serial
    }

    /// `-z`'s text read as ssh-keygen reads it: decimal digits, after a `+` that numbers the
    /// keys one after another; nil when it is not a serial number.
    static func parseSerial(_ text: String) -> (first: UInt64, increments: Bool)? {
        let increments = text.hasPrefix("+")
        let digits = increments ? text.dropFirst() : text[...]
        guard let first = digits.utf8.first, (0x30...0x39).contains(first), let value = UInt64(digits) else {
            return nil
        }
        return (value, increments)
    }

    /// The `-O` options applied in order to the defaults for the certificate's kind.
    func certificateOptions() throws -> CertificateOptions {
        var options = CertificateOptions(kind: self.host ? .host : .user)
        for option in self.options {
            do {
                try options.apply(option)
            } catch {
                throw ValidationError("\(sentence(error.message)).")
            }
        }
        return options
    }

    /// `-n` split at commas, as ssh-keygen splits it: no name may be empty.
    func principalList() throws -> [String] {
        guard let list = self.principals else { return [] }
        let names = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !names.contains(where: \.isEmpty) else {
            throw ValidationError("A principal name in -n is empty.")
        }
        guard names.count <= 256 else { throw ValidationError("Too many principals in -n (at most 256).") }
        return names
    }

    func run() throws {
        try reportingFailures {
            let now = Int64(time(nil))
            let validity = try self.validity.map { try CertificateValidity(parsing: $0, now: now) } ?? .forever
            let options = try self.certificateOptions()
            let principals = try self.principalList()
            var (serial, increments) = try self.serialNumber()

            // Read every key before asking for the CA's passphrase, so a bad key costs no prompt.
            var subjects: [(path: String, builder: CertificateBuilder, comment: String, output: String)] = []
            for path in self.keys.map(expandTilde) {
                let (key, comment) = try readPublicKey(path)
                let builder: CertificateBuilder
                do throws(SSHKeyError) {
                    builder = try Self.builder(
                        key: key,
                        keyID: self.keyID,
                        kind: self.host ? .host : .user,
                        principals: principals,
                        validity: validity,
                        options: options
                    )
                } catch {
                    throw Failure("cannot certify \(path): \(error.message)")
                }
                subjects.append((path, builder, comment, Self.certificatePath(for: path)))
            }

            let signer: SSHKeySigner
            let algorithm: String
            if self.agent {
                let caPath = expandTilde(self.caKey)
                guard let (caKey, _) = loadPublicKeyLikeSSHAdd(caPath) else {
                    throw Failure("cannot read the CA's public key from \(caPath)")
                }
                algorithm = try CertificateBuilder.signatureAlgorithm(for: caKey, requested: self.signatureAlgorithm)
                signer = try agentSigner(for: caKey, algorithm: algorithm, named: caPath)
            } else {
                let caPath = try signingKeyPath(expandTilde(self.caKey))
                let (ca, _) = try loadPrivateKey(path: caPath, passphrase: self.passphrase)
                algorithm = try CertificateBuilder.signatureAlgorithm(
                    for: ca.publicKey,
                    requested: self.signatureAlgorithm
                )
                signer =
                    ca.securityKey == nil
                    ? try SSHKeySigner(certificateAuthority: ca, algorithm: algorithm)
                    : try keySigner(for: ca, provider: self.securityKey)
            }

            var signed: [(certificate: SSHPublicKey, comment: String, output: String)] = []
            for subject in subjects {
                var builder = subject.builder
                builder.serial = serial
                let certificate: SSHPublicKey
                do throws(SSHKeyError) {
                    certificate = try builder.sign(with: signer, algorithm: algorithm)
                } catch {
                    throw Failure("could not certify \(subject.path): \(error.message)")
                }
                signed.append((certificate, subject.comment, subject.output))
                if increments { serial &+= 1 }
            }

            for entry in signed {
                try Self.save(entry.certificate, comment: entry.comment, to: entry.output)
                guard !self.quiet else { continue }
                printError(Self.report(entry.certificate, output: entry.output, principals: self.principals))
            }
        }
    }

    /// The certificate of `key` before its serial number and signature: its kind, principals,
    /// validity, critical options and extensions.
    static func builder(
        key: SSHPublicKey,
        keyID: String,
        kind: SSHCertificate.Kind,
        principals: [String],
        validity: CertificateValidity,
        options: CertificateOptions
    ) throws(SSHKeyError) -> CertificateBuilder {
        var builder = try CertificateBuilder(key: key, keyID: keyID)
        builder.kind = kind
        builder.principals = principals
        builder.validAfter = validity.validAfter
        builder.validBefore = validity.validBefore
        builder.criticalOptions = options.criticalOptions
        builder.extensions = options.extensions
        return builder
    }

    /// Where ssh-keygen writes the certificate of PATH: PATH, less a trailing .pub, and -cert.pub.
    static func certificatePath(for path: String) -> String {
        (path.hasSuffix(".pub") ? String(path.dropLast(4)) : path) + "-cert.pub"
    }

    /// Writes a certificate line as sshkey_save_public does: mode 0644 less the umask,
    /// replacing a file there.
    static func save(_ certificate: SSHPublicKey, comment: String, to path: String) throws {
        let mask = umask(0o022)
        umask(mask)
        try KeyFileIO.writeAtomically(
            path: path,
            contents: Array(certificate.publicKeyFileContents(comment: comment).utf8),
            mode: UInt32(0o644 & ~mask),
            overwrite: true
        )
    }

    /// ssh-keygen's line for a certificate written: "Signed user key PATH: id "ID" serial N
    /// [for PRINCIPALS] valid …".
    static func report(_ certificate: SSHPublicKey, output: String, principals: String?) -> String {
        guard let cert = certificate.certificate else { return "" }
        let forList = principals.map { " for \($0)" } ?? ""
        return "Signed \(cert.kind.label) key \(output): id \"\(cert.keyID)\" serial \(cert.serial)"
            + "\(forList) valid \(cert.validityDescription)"
    }
}

/// A public key file as ssh-keygen's sshkey_load_public reads it: the first key line of
/// PATH, else of PATH.pub; its comment, or PATH itself when the line has none.
func readPublicKey(_ path: String) throws -> (SSHPublicKey, String) {
    for candidate in [path, path + ".pub"] where KeyFileIO.fileExists(candidate) {
        let contents = try KeyFileIO.readFile(candidate)
        guard let (key, comment) = KeygenLineReader.firstKey(inPublicKeyFile: contents) else { continue }
        if key.type.isCertificate {
            throw Failure("\(path) is a \(key.type.sshName) certificate, which cannot be certified again")
        }
        return (key, comment.isEmpty ? path : String(decoding: comment, as: UTF8.self))
    }
    guard KeyFileIO.fileExists(path) else { throw Failure("cannot read the public key \(path): no such file") }
    throw Failure("\(path) holds no public key to certify")
}
