import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SSHKeygenLink {
    /// One ssh-keygen command line: its options checked as ssh-keygen's getopt loop checks
    /// them (in order, the first bad value fatal), then its mode chosen as main() chooses it.
    struct Invocation {
        var getopt: Getopt
        /// `-b`, 0 when not given.
        var bits: UInt32 = 0
        /// `-E`.
        var hash: HashFunction = .sha256
        /// `-m` for private keys: nil is the OpenSSH format.
        var privateFormat: PrivateKeyFileFormat? = nil
        /// `-m` for -e and -i: RFC4716 unless PEM or PKCS8 was named.
        var conversionFormat = "RFC4716"
        /// `-a`, 0 when not given (ssh-keygen's 16 rounds then).
        var rounds = 0
        /// `-Z`.
        var cipher: CipherAlgorithm? = nil
        /// `-f`.
        var identityFile: String? = nil
        /// `-V`, always:forever when not given.
        var validity = CertificateValidity.forever
        /// `-z`: the first serial number (or KRL version), and whether `+` numbers the keys.
        var serial: (first: UInt64, increments: Bool) = (0, false)

        init(_ getopt: Getopt) throws {
            self.getopt = getopt
            for option in getopt.options {
                let value = option.value ?? ""
                switch option.letter {
                case "b":
                    guard let bits = UInt32(strtonum: value) else {
                        throw SSHKeygenLink.fatal(
                            "Bits has bad value \(value) (\(strtonumError(value, max: UInt64(UInt32.max))))"
                        )
                    }
                    self.bits = bits
                case "E":
                    // ssh_digest_alg_by_name compares the names without regard to case.
                    guard let hash = agentHashFunction(value.lowercased()) else {
                        throw SSHKeygenLink.fatal("Invalid hash algorithm \"\(value)\"")
                    }
                    self.hash = hash
                case "m":
                    switch value.lowercased() {
                    case "rfc4716", "ssh2": self.conversionFormat = "RFC4716"
                    case "pkcs8":
                        self.conversionFormat = "PKCS8"
                        self.privateFormat = .pkcs8
                    case "pem":
                        self.conversionFormat = "PEM"
                        self.privateFormat = .pem
                    default: throw SSHKeygenLink.fatal("Unsupported conversion format \"\(value)\"")
                    }
                case "Z":
                    guard let cipher = CipherAlgorithm(sshName: value) else {
                        throw SSHKeygenLink.fatal("Invalid OpenSSH-format cipher '\(value)'")
                    }
                    self.cipher = cipher
                case "a":
                    guard let rounds = UInt32(strtonum: value), rounds <= Int32.max else {
                        throw SSHKeygenLink.fatal(
                            "Invalid number: \(value) (\(strtonumError(value, max: UInt64(Int32.max))))"
                        )
                    }
                    self.rounds = Int(rounds)
                case "f": self.identityFile = value
                case "V":
                    do {
                        self.validity = try CertificateValidity(parsing: value, now: Int64(time(nil)))
                    } catch {
                        // parse_cert_times' messages, which keysmith's start in lower case.
                        let message =
                            error.message.hasPrefix("empty") ? "empty certificate validity interval" : error.message
                        throw SSHKeygenLink.fatal(message.prefix(1).uppercased() + message.dropFirst())
                    }
                case "z":
                    guard let serial = CertSign.parseSerial(value) else {
                        let digits = value.hasPrefix("+") ? String(value.dropFirst()) : value
                        throw SSHKeygenLink.fatal("Invalid serial number \"\(digits)\"")
                    }
                    self.serial = serial
                case "M":
                    guard value == "generate" || value == "screen" else {
                        throw SSHKeygenLink.fatal("Unsupported moduli option \(value)")
                    }
                default: break
                }
            }
        }

        /// The mode, in the order of ssh-keygen.c's main() (after -Y, which run() routes).
        func run() throws -> Int32 {
            let g = self.getopt
            let operands = g.operands
            if g.has("s") {
                if operands.isEmpty && !g.has("k") { throw SSHKeygenLink.usageError("Too few arguments.") }
            } else if !operands.isEmpty && !g.has("k") && !g.has("Q") && !g.has("M") {
                throw SSHKeygenLink.usageError("Too many arguments.")
            }
            if g.has("p") && g.has("c") { throw SSHKeygenLink.usageError("Can only have one of -p and -c.") }
            if g.has("l") && (g.has("R") || g.has("H")) {
                throw SSHKeygenLink.usageError("Cannot use -l with -H or -R.")
            }
            if g.has("k") { return try self.generateKRL() }
            if g.has("Q") { return try self.checkKRL() }
            if g.has("s") {
                guard g.has("I") else { throw SSHKeygenLink.fatal("Must specify key id (-I) when certifying") }
                return try self.signCertificates()
            }
            if g.has("L") { return try self.showCertificate() }
            if g.has("R") || g.has("H") || g.has("F") { return try self.knownHosts() }
            if g.has("D") { return OpenSSHLink.notImplemented(.sshKeygen, "-D (PKCS#11 keys)") }
            if g.has("K") { return try self.downloadResidentKeys() }
            if g.has("l") || g.has("B") { return try self.fingerprint() }
            if g.has("p") { return try self.changePassphrase() }
            if g.has("c") { return try self.changeComment() }
            if g.has("e") { return try self.convertTo() }
            if g.has("i") || g.has("X") { return try self.convertFrom() }
            if g.has("y") { return try self.printPublic() }
            if g.has("r") { return try self.printResourceRecords() }
            if g.has("M") { return OpenSSHLink.notImplemented(.sshKeygen, "-M (moduli)") }
            if g.has("A") { return try self.generateHostKeys() }
            return try self.generate()
        }

        /// The private key format and encryption a key is saved with (`-m`, `-Z`, `-a`;
        /// ssh-keygen 9.2 derives with 16 rounds when -a is not given).
        func fileFormat(for type: SSHKeyType) -> PrivateKeyFileFormat {
            (self.privateFormat ?? .openSSH).effective(for: type)
        }

        var fileOptions: OpenSSHKeyFileOptions {
            OpenSSHKeyFileOptions(
                cipher: self.cipher ?? OpenSSHKeyFileOptions.defaultCipher,
                rounds: self.rounds == 0 ? 16 : self.rounds
            )
        }
    }
}

extension UInt32 {
    /// strtonum(value, 1, UINT32_MAX) as ssh-keygen's -b and -a read a number: decimal,
    /// an optional sign, nothing after it.
    init?(strtonum value: String) {
        guard let number = Int64(value.hasPrefix("+") ? String(value.dropFirst()) : value), number >= 1,
            let bits = UInt32(exactly: number)
        else { return nil }
        self = bits
    }
}

/// strtonum's reason for refusing `value` between 1 and `max`: "invalid", "too small" or
/// "too large".
func strtonumError(_ value: String, max: UInt64) -> String {
    let digits = value.hasPrefix("+") || value.hasPrefix("-") ? value.dropFirst() : value[...]
    guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { return "invalid" }
    if value.hasPrefix("-") { return "too small" }
    guard let number = UInt64(digits) else { return "too large" }
    return number < 1 ? "too small" : "too large"
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
