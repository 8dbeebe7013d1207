import ArgumentParser
import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The key operations of the ssh-keygen link: generate, -y, -l and -B, -p, -c.
extension SSHKeygenLink.Invocation {
    // MARK: Generate

    /// ssh-keygen without a mode: a new key pair, as main()'s last part makes it.
    func generate() throws -> Int32 {
        let quiet = self.getopt.has("q")
        let typeName = self.getopt.last("t") ?? "rsa"
        let type: SSHKeyType
        switch Self.keyType(named: typeName) {
        case .some(.some(let known)): type = known
        case .some(.none): return OpenSSHLink.notImplemented(.sshKeygen, "-t \(typeName)")
        case .none: throw SSHKeygenLink.fatal("unknown key type \(typeName)")
        }
        var rsaBits = Int(self.bits == 0 ? 3072 : self.bits)
        var generated = type
        switch type {
        case .rsa:
            if rsaBits < 1024 { throw SSHKeygenLink.fatal("Invalid RSA key length: minimum is 1024 bits") }
            if rsaBits > 16384 { throw SSHKeygenLink.fatal("Invalid RSA key length: maximum is 16384 bits") }
        case .ecdsa(let named):
            let fromName = typeName.hasPrefix("ecdsa-sha2-nistp") ? Int(typeName.suffix(3)) : nil
            switch self.bits == 0 ? (fromName ?? named.bits) : Int(self.bits) {
            case 256: generated = .ecdsa(.p256)
            case 384: generated = .ecdsa(.p384)
            case 521: generated = .ecdsa(.p521)
            default:
                throw SSHKeygenLink.fatal("Invalid ECDSA key length: valid lengths are 256, 384 or 521 bits")
            }
        default: rsaBits = 3072
        }
        let announcement = quiet ? "" : "Generating public/private \(typeName) key pair.\n"
        var key: SSHPrivateKey
        var attestation: (path: String, blob: [UInt8])? = nil
        if type.isSecurityKey {
            // Into a pipe, stdio keeps the line until the enrolment flushes stdout: a fatal
            // -O option before it drops the line.
            let pending = isatty(1) == 1 ? "" : announcement
            if pending.isEmpty { writeOut(announcement) }
            (key, attestation) = try self.enrollSecurityKey(type, quiet: quiet, pending: pending)
        } else {
            writeOut(announcement)
            key = try withProgress("generating the key") {
                try SSHPrivateKey(generating: generated, rsaBits: rsaBits, comment: "")
            }
        }
        let path = try self.identityFile ?? Self.askFilename("Enter file in which to save the key", type: generated)
        Self.createUserSSHDirectory(for: path, notify: !quiet)
        if KeyFileIO.fileExists(path) {
            writeOut("\(path) already exists.\nOverwrite (y/n)? ")
            guard let answer = Self.readLine(), answer.first == "y" || answer.first == "Y" else { return 1 }
        }
        let passphrase =
            self.getopt.last("P").map { SecureBytes(utf8: $0) } ?? self.getopt.last("N").map { SecureBytes(utf8: $0) }
            ?? Self.readNewPassphrase()
        key.comment = self.getopt.last("C") ?? defaultComment()
        guard self.save(key, path: path, passphrase: passphrase) else { return 1 }
        if !quiet { writeOut("Your identification has been saved in \(path)\n") }
        do {
            try KeyFileIO.writeAtomically(
                path: path + ".pub",
                contents: Array(key.publicKey.publicKeyFileContents(comment: key.comment).utf8),
                mode: 0o644,
                overwrite: true
            )
        } catch {
            throw SSHKeygenLink.fatal("Unable to save public key to \(path).pub: \(Self.reason(error))")
        }
        if !quiet {
            let fp = key.publicKey.fingerprint(self.hash)
            writeOut(
                """
                Your public key has been saved in \(path).pub
                The key fingerprint is:
                \(fp) \(key.comment)
                The key's randomart image is:
                \(fp.randomArt(title: "\(generated.displayName) \(key.publicKey.bits)"))

                """
            )
        }
        if let attestation {
            // save_attestation: written under umask 077.
            do {
                try KeyFileIO.writeAtomically(
                    path: attestation.path,
                    contents: attestation.blob,
                    mode: 0o600,
                    overwrite: true
                )
            } catch {
                throw SSHKeygenLink.fatal(
                    "Unable to write attestation data \"\(attestation.path)\": \(Self.reason(error))"
                )
            }
            if !quiet { writeOut("Your FIDO attestation certificate has been saved in \(attestation.path)\n") }
        }
        return 0
    }

    /// The enrolment of main()'s KEY_ECDSA_SK / KEY_ED25519_SK case (`pending`: what stdout
    /// holds unflushed before it): the -O options read as ssh-keygen reads them, then the provider of -w (else SSH_SK_PROVIDER, else the
    /// built-in one) asked, "You may need to touch your authenticator" before each try, the
    /// PIN asked when the authenticator wants one (three tries), and a resident key that
    /// exists overwritten only when the user says so.
    func enrollSecurityKey(
        _ type: SSHKeyType,
        quiet: Bool,
        pending: String
    ) throws -> (SSHPrivateKey, (path: String, blob: [UInt8])?) {
        let options: SecurityKeyEnrollmentOptions
        do { options = try SecurityKeyEnrollmentOptions(self.getopt.all("O")) } catch let error as ValidationError {
            throw SSHKeygenLink.fatal(error.message.hasSuffix(".") ? String(error.message.dropLast()) : error.message)
        }
        var challenge = SecureRandom.bytes(32)
        if let path = options.challengePath {
            // An empty file: ssh-sk-helper is sent no challenge and makes a random one.
            do { challenge = try KeyFileIO.readFile(path).nonEmpty ?? challenge } catch {
                throw SSHKeygenLink.fatal(
                    "Unable to load FIDO enrollment challenge \"\(path)\": \(Self.systemReason(path))"
                )
            }
        }
        guard let algorithm = type.securityKeyAlgorithm else { throw SSHKeygenLink.fatal("unknown key type") }
        let providerPath = self.getopt.last("w") ?? getenv("SSH_SK_PROVIDER").map { String(cString: $0) }
        var flags = options.flags
        var pin: SecureBytes? = nil
        var again = false
        var attempts = 0
        var unflushed = pending
        while true {
            if !quiet {
                unflushed +=
                    "You may need to touch your authenticator\(again ? " again" : "") to authorize key generation.\n"
            }
            writeOut(unflushed)
            unflushed = ""
            do {
                if let providerPath, providerPath != "internal", !Self.isMiddlewareLibrary(providerPath) {
                    SSHKeygenLink.log("provider \(providerPath) is not an OpenSSH FIDO library")
                    throw SSHKeygenLink.fatal("Key enrollment failed: invalid format")
                }
                let provider = try SecurityKeySigning.provider(path: providerPath)
                let enrollment = try provider.enroll(
                    algorithm: algorithm,
                    application: options.application,
                    challenge: challenge,
                    flags: flags,
                    pin: pin,
                    options: options.options
                )
                let key = try options.key(type, from: enrollment, comment: "")
                return (key, options.attestationPath.map { ($0, enrollment.attestationBlob) })
            } catch let error as SecurityKeyError
                where error.code == .credentialExists && flags.contains(.residentKey)
                && !flags.contains(.forceOperation)
            {
                guard Self.confirmResidentOverwrite(options) else {
                    throw SSHKeygenLink.fatal("Key enrollment failed: bad permissions")
                }
                flags.insert(.forceOperation)
            } catch let error as SecurityKeyError where error.code == .pinRequired {
                if pin != nil { SSHKeygenLink.log("PIN incorrect") }
                attempts += 1
                if attempts >= 3 { throw SSHKeygenLink.fatal("Too many incorrect PINs") }
                pin = Self.readPassphrase("Enter PIN for authenticator: ")
            } catch let error as SecurityKeyError {
                throw SSHKeygenLink.fatal("Key enrollment failed: \(Self.enrollmentReason(error))")
            }
            again = true
        }
    }

    /// lib_contains_symbol, which Debian's OpenSSH 9.2 runs on a provider before loading it:
    /// whether the file is a regular file holding the bytes `sk_api_version`; its error line
    /// when not.
    static func isMiddlewareLibrary(_ path: String) -> Bool {
        let symbol = Array("sk_api_version".utf8)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            SSHKeygenLink.log("lib_contains_symbol: open \(path): \(String(cString: strerror(errno)))")
            return false
        }
        close(fd)
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            SSHKeygenLink.log("lib_contains_symbol: \(path) is not a regular file")
            return false
        }
        guard st.st_size >= symbol.count, st.st_size < Int32.max / 2, let bytes = try? KeyFileIO.readFile(path) else {
            SSHKeygenLink.log("lib_contains_symbol: \(path) bad size \(st.st_size)")
            return false
        }
        guard bytes.firstRange(of: symbol) != nil else {
            SSHKeygenLink.log("lib_contains_symbol: \(path) does not contain expected string sk_api_version")
            return false
        }
        return true
    }

    /// confirm_sk_overwrite: whether the user answers y to replacing a resident key.
    static func confirmResidentOverwrite(_ options: SecurityKeyEnrollmentOptions) -> Bool {
        writeOut(
            "A resident key scoped to '\(options.application)' with user id '\(options.options.user ?? "null")' already exists.\n"
                + "Overwrite key in token (y/n)? "
        )
        guard let answer = Self.readLine() else { return false }
        return answer.first == "y" || answer.first == "Y"
    }

    /// ssh_err's text for the error skerr_to_ssherr makes of the provider's.
    static func enrollmentReason(_ error: SecurityKeyError) -> String {
        switch error.code {
        case .unsupported: "requested feature not supported"
        case .deviceNotFound: "device not found"
        case .credentialExists: "bad permissions"
        default: "invalid format"
        }
    }

    /// sshkey_type_from_name for the types ssh-keygen generates: nil for an unknown name,
    /// .some(nil) for a type keysmith does not generate (DSA: refused).
    static func keyType(named name: String) -> SSHKeyType?? {
        switch name.lowercased() {
        case "rsa": return .rsa
        case "ecdsa": return .ecdsa(.p256)
        case "ed25519": return .ed25519
        case "ecdsa-sk": return .skECDSA
        case "ed25519-sk": return .skEd25519
        case "dsa": return .some(nil)
        default: break
        }
        switch name {
        case "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512": return .rsa
        case "ecdsa-sha2-nistp256": return .ecdsa(.p256)
        case "ecdsa-sha2-nistp384": return .ecdsa(.p384)
        case "ecdsa-sha2-nistp521": return .ecdsa(.p521)
        case "ssh-ed25519": return .ed25519
        case "sk-ecdsa-sha2-nistp256@openssh.com": return .skECDSA
        case "sk-ssh-ed25519@openssh.com": return .skEd25519
        case "ssh-dss": return .some(nil)
        default: return nil
        }
    }

    // MARK: -y

    /// ssh-keygen -y: the public key line of a private key file.
    func printPublic() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        try Self.statOrFatal(path)
        let key = try self.loadIdentity(path, prompt: "Enter passphrase: ", context: "Load key \"\(path)\"")
        let comment = key.comment.isEmpty ? "" : " " + key.comment
        writeOut(key.publicKey.openSSHLine(comment: nil) + comment + "\n")
        return 0
    }

    // MARK: -l, -B

    /// ssh-keygen -l [-v] [-E hash] and -B, through `keysmith fingerprint`'s listing.
    func fingerprint() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        let shown = path == "-" ? "(stdin)" : path
        let contents: [UInt8]
        do {
            contents = path == "-" ? try readStandardInput() : try KeyFileIO.readFile(path)
        } catch {
            throw SSHKeygenLink.fatal("ssh-keygen: \(path): \(Self.systemReason(path))")
        }
        var arguments = ["-f", path]
        if self.getopt.has("v") { arguments.append("-v") }
        if self.getopt.has("B") { arguments.append("-B") }
        let command = try Fingerprint.parse(arguments)
        do {
            writeOut(try command.listing(contents, path: shown, function: self.hash, reportSkipped: false))
            if self.getopt.has("v") && KeyFileKind(contents: contents) == .publicKeyLines {
                Self.logLinesWithoutKeys(contents, path: shown)
            }
        } catch {
            let kind = KeyFileKind(contents: contents)
            let isPrivate = path != "-" && (kind == .openSSHPrivateKey || kind == .pemPrivateKey)
            throw SSHKeygenLink.fatal("\(shown) is not a \(isPrivate ? "" : "public ")key file.")
        }
        return 0
    }

    /// do_fingerprint's debug line under -v for each line that is neither blank, a comment,
    /// a single word nor a key.
    static func logLinesWithoutKeys(_ contents: [UInt8], path: String) {
        var reader = KeygenLineReader()
        var number = 0
        for line in contents.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let text = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            // A line of one word (no blank after it) is passed over without a word.
            guard text.first != UInt8(ascii: "#"), text.contains(where: { $0 == 0x20 || $0 == 0x09 }) else { continue }
            if reader.read(line: line + [0x0A]) == nil {
                SSHKeygenLink.log("debug1: \(path):\(number): not a public key")
            }
        }
    }

    // MARK: -p

    /// ssh-keygen -p: the key saved again with a new passphrase (and in the format of -m).
    func changePassphrase() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        try Self.statOrFatal(path)
        let context = "Failed to load key \(path)"
        let contents = try Self.readPrivateKeyFile(path, context: context)
        let key = try self.loadIdentity(path, prompt: "Enter old passphrase: ", context: context)
        if KeyFileKind(contents: contents) == .openSSHPrivateKey { writeOut("Key has comment '\(key.comment)'\n") }
        let passphrase: SecureBytes
        if let given = self.getopt.last("N") {
            passphrase = SecureBytes(utf8: given)
        } else {
            let first = Self.readPassphrase("Enter new passphrase (empty for no passphrase): ")
            let second = Self.readPassphrase("Enter same passphrase again: ")
            guard first.constantTimeEquals(second) else {
                writeOut("Pass phrases do not match.  Try again.\n")
                return 1
            }
            passphrase = first
        }
        guard self.save(key, path: path, passphrase: passphrase) else { return 1 }
        writeOut("Your identification has been saved with the new passphrase.\n")
        return 0
    }

    // MARK: -c

    /// ssh-keygen -c: the comment of a private key (and its .pub) changed.
    func changeComment() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        try Self.statOrFatal(path)
        let context = "Cannot load private key \"\(path)\""
        let contents = try Self.readPrivateKeyFile(path, context: context)
        var key: SSHPrivateKey
        var passphrase = SecureBytes(utf8: "")
        if !SSHPrivateKey.isEncrypted(fileContents: contents),
            let plain = try? SSHPrivateKey(fileContents: contents, passphrase: nil)
        {
            key = plain
        } else {
            passphrase =
                self.getopt.last("P").map { SecureBytes(utf8: $0) } ?? self.getopt.last("N").map {
                    SecureBytes(utf8: $0)
                }
                ?? Self.readPassphrase("Enter passphrase: ")
            key = try Self.decode(contents, passphrase: passphrase, context: context)
        }
        if key.type != .ed25519 && (self.privateFormat ?? .openSSH) != .openSSH {
            SSHKeygenLink.log("Comments are only supported for keys stored in the new format (-o).")
            return 1
        }
        let isOpenSSH = KeyFileKind(contents: contents) == .openSSHPrivateKey
        writeOut(isOpenSSH ? "Old comment: \(key.comment)\n" : "No existing comment\n")
        let comment: String
        if let given = self.getopt.last("C") {
            comment = given
        } else {
            writeOut("New comment: ")
            guard let typed = Self.readLine() else { return 1 }
            comment = typed
        }
        if isOpenSSH && comment == key.comment {
            writeOut("No change to comment\n")
            return 0
        }
        key.comment = comment
        guard self.save(key, path: path, passphrase: passphrase) else { return 1 }
        do {
            try KeyFileIO.writeAtomically(
                path: path + ".pub",
                contents: Array(key.publicKey.publicKeyFileContents(comment: comment).utf8),
                mode: 0o644,
                overwrite: true
            )
        } catch {
            throw SSHKeygenLink.fatal("Unable to save public key to \(path).pub: \(Self.reason(error))")
        }
        writeOut(comment.isEmpty ? "Comment removed\n" : "Comment '\(comment)' applied\n")
        return 0
    }

    // MARK: Loading and saving

    /// sshkey_save_private with -m, -Z and -a; false (after error_r's line) when it failed.
    func save(_ key: SSHPrivateKey, path: String, passphrase: SecureBytes) -> Bool {
        // sshkey_private_to_blob_pem_pkcs8: OpenSSL's PEM encryption wants five characters.
        if self.fileFormat(for: key.type) != .openSSH && (1...4).contains(passphrase.count) {
            SSHKeygenLink.log("Saving key \"\(path)\" failed: passphrase is too short (minimum five characters)")
            return false
        }
        do {
            let contents = try withProgress("deriving the key from the passphrase") {
                try key.fileRepresentation(
                    format: self.fileFormat(for: key.type),
                    passphrase: passphrase,
                    options: self.fileOptions
                )
            }
            try KeyFileIO.writeAtomically(path: path, contents: contents, mode: 0o600, overwrite: true)
            return true
        } catch {
            SSHKeygenLink.log("Saving key \"\(path)\" failed: \(Self.reason(error))")
            return false
        }
    }

    /// ssh-keygen's load_identity: the key without a passphrase, else with -P or one asked.
    func loadIdentity(_ path: String, prompt: String, context: String) throws -> SSHPrivateKey {
        let contents = try Self.readPrivateKeyFile(path, context: context)
        if !SSHPrivateKey.isEncrypted(fileContents: contents) {
            do {
                return try SSHPrivateKey(fileContents: contents, passphrase: nil)
            } catch  where error.code != .passphraseRequired && error.code != .wrongPassphrase {
                throw SSHKeygenLink.fatal("\(context): \(Self.reason(error))")
            } catch {}
        }
        let passphrase = self.getopt.last("P").map { SecureBytes(utf8: $0) } ?? Self.readPassphrase(prompt)
        return try Self.decode(contents, passphrase: passphrase, context: context)
    }

    static func decode(_ contents: [UInt8], passphrase: SecureBytes, context: String) throws -> SSHPrivateKey {
        do {
            return try withProgress("deriving the key from the passphrase") { () throws(SSHKeyError) in
                try SSHPrivateKey(fileContents: contents, passphrase: passphrase)
            }
        } catch {
            throw SSHKeygenLink.fatal("\(context): \(Self.reason(error))")
        }
    }

    /// A private key file's bytes as sshkey_load_private reads them: refused (after its
    /// warning) when the user's own file is open to others.
    static func readPrivateKeyFile(_ path: String, context: String) throws -> [UInt8] {
        var st = stat()
        if stat(path, &st) == 0 && st.st_uid == getuid() && st.st_mode & 0o077 != 0 {
            let at = String(repeating: "@", count: 59)
            for line in [
                at, "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @", at,
                "Permissions 0\(String(st.st_mode & 0o777, radix: 8)) for '\(path)' are too open.",
                "It is required that your private key files are NOT accessible by others.",
                "This private key will be ignored.",
            ] {
                SSHKeygenLink.log(line)
            }
            throw SSHKeygenLink.fatal("\(context): bad permissions")
        }
        do { return try KeyFileIO.readFile(path) } catch {
            throw SSHKeygenLink.fatal("\(context): \(Self.systemReason(path))")
        }
    }

    /// ssh-keygen's `stat(identity_file)` check: "FILE: reason", fatal.
    static func statOrFatal(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SSHKeygenLink.fatal("\(path): \(String(cString: strerror(errno)))") }
    }

    /// strerror of opening `path` now.
    static func systemReason(_ path: String) -> String {
        let fd = open(path, O_RDONLY)
        if fd >= 0 {
            close(fd)
            return "Is a directory"
        }
        return String(cString: strerror(errno))
    }

    /// ssh_err's text for what keysmith's library threw.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? SSHKeyError else { return "\(error)" }
        switch error.code {
        case .wrongPassphrase, .passphraseRequired: return "incorrect passphrase supplied to decrypt private key"
        case .fileError: return error.message.split(separator: ": ").last.map(String.init) ?? error.message
        default: return "invalid format"
        }
    }

    // MARK: Questions

    /// ssh-keygen's ask_filename: the default under the password entry's home directory,
    /// the answer read as fgets reads it; end of input ends ssh-keygen with status 1.
    static func askFilename(_ prompt: String, type: SSHKeyType?) throws -> String {
        let path = Self.passwordHome() + "/.ssh/" + (type ?? .rsa).defaultFileName
        writeOut("\(prompt) (\(path)): ")
        guard let answer = Self.readLine() else { throw SSHKeygenLink.Exit(status: 1) }
        return answer.isEmpty ? path : answer
    }

    /// The home directory of the password entry, which ssh-keygen's default paths start from.
    static func passwordHome() -> String {
        guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir else { return "/" }
        return String(cString: dir)
    }

    /// hostfile_create_user_ssh_dir: ~/.ssh made (0700) when the key goes into it.
    static func createUserSSHDirectory(for path: String, notify: Bool) {
        guard let slash = path.lastIndex(of: "/"), let home = KeyFileIO.homeDirectory() else { return }
        let directory = home + "/.ssh"
        guard path[..<slash] == directory else { return }
        var st = stat()
        if stat(directory, &st) == 0 { return }
        if errno != ENOENT {
            SSHKeygenLink.log("Could not stat \(directory): \(String(cString: strerror(errno)))")
        } else if mkdir(directory, 0o700) != 0 {
            SSHKeygenLink.log("Could not create directory '\(directory)' (\(String(cString: strerror(errno)))).")
        } else if notify {
            SSHKeygenLink.log("Created directory '\(directory)'.")
        }
    }

    /// A line of standard input without its newline, nil at end of input.
    static func readLine() -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(0, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
    }

    /// read_passphrase(prompt, RP_ALLOW_STDIN): askpass when readpass.c would run it, else
    /// the terminal, else standard input with the prompt on stderr; "" when nothing answers.
    static func readPassphrase(_ prompt: String) -> SecureBytes {
        switch SystemPrompter.route(
            environment: { getenv($0).map { String(cString: $0) } },
            haveTerminal: { isatty(0) == 1 }
        ) {
        case .askpass(let program):
            return ((try? AskpassPrompter(program: program).askSecret(prompt)) ?? nil) ?? SecureBytes(utf8: "")
        case .nowhere:
            return SecureBytes(utf8: "")
        case .terminal:
            if SecretInput.haveTerminal() { return SecretInput.readHidden(prompt: prompt) ?? SecureBytes(utf8: "") }
            writeAll(2, prompt)
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            while true {
                let n = read(0, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
                bytes.append(byte)
            }
            defer { secureWipe(&bytes) }
            return SecureBytes(bytes)
        }
    }

    /// read_check_passphrase: asked twice until both answers match.
    static func readNewPassphrase() -> SecureBytes {
        while true {
            let first = Self.readPassphrase("Enter passphrase (empty for no passphrase): ")
            let second = Self.readPassphrase("Enter same passphrase again: ")
            if first.constantTimeEquals(second) { return first }
            writeOut("Passphrases do not match.  Try again.\n")
        }
    }
}

extension Array {
    /// The array, or nil when it is empty.
    fileprivate var nonEmpty: Self? { self.isEmpty ? nil : self }
}
