import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ssh-keygen -Y`: SSHSIG signatures through the link, as OpenSSH 9.2's ssh-keygen makes and
/// checks them (ssh-keygen.c `main`'s `-Y` dispatch, `sig_sign`, `sig_verify`,
/// `sig_find_principals`, `sig_match_principals`; sshsig.c): the same options, the same
/// lines on standard output and standard error, the same exit statuses. The signing and
/// checking are SSHKeys' (``SSHSIGSignature``, ``AllowedSigners``); this file only speaks
/// ssh-keygen's words. What git runs as `gpg.ssh.program` is this (docs/drop-in.md).
extension SSHKeygenLink {
    /// Runs a command line that has `-Y`, split by ssh-keygen's option string, and returns
    /// ssh-keygen's exit status: 0, 1 for a missing argument, 255 where ssh-keygen's
    /// function returns -1 or it calls fatal(), and for match-principals the low byte of
    /// the negative ssherr.h code it returns.
    static func signatureOperation(_ getopt: Getopt) -> Int32 {
        let operation = getopt.last("Y") ?? ""
        // ssh-keygen keeps the last value of each letter; -n is the namespace, -s the
        // signature, -I the identity, -f the key or allowed_signers file, and the revoked
        // keys file is the last of -r, -F and -R (one variable holds all three).
        let namespace = getopt.last("n")
        let signatureFile = getopt.last("s")
        let identity = getopt.last("I")
        let file = getopt.last("f")
        let revokedKeys = getopt.options.last { "rFR".contains($0.letter) }?.value
        let options = getopt.all("O")
        let quiet = getopt.has("q")
        // strncmp against each name, in main's order: a longer word still names the operation.
        if operation.hasPrefix("find-principals") {
            guard let signatureFile else {
                return Self.tooFew("Too few arguments for find-principals:missing signature file")
            }
            guard let file else {
                return Self.tooFew("Too few arguments for find-principals:missing allowed keys file")
            }
            return Self.findPrincipals(signatureFile: signatureFile, allowedSigners: file, options: options)
        } else if operation.hasPrefix("match-principals") {
            guard let file else {
                return Self.tooFew("Too few arguments for match-principals:missing allowed keys file")
            }
            guard let identity else {
                return Self.tooFew("Too few arguments for match-principals: missing principal ID")
            }
            return Self.matchPrincipals(allowedSigners: file, principal: identity, options: options)
        } else if operation.hasPrefix("sign") {
            guard let namespace, !namespace.isEmpty else {
                return Self.tooFew("Too few arguments for sign: missing namespace")
            }
            guard let file else { return Self.tooFew("Too few arguments for sign: missing key") }
            var request = SignRequest(keyPath: file, namespace: namespace, files: getopt.operands)
            request.requireAgent = getopt.has("U")
            request.options = options
            request.provider = getopt.last("w")
            request.passphrase = getopt.last("P")
            request.quiet = quiet
            return Self.sign(request)
        } else if operation.hasPrefix("check-novalidate") {
            guard let namespace, !namespace.isEmpty else {
                return Self.tooFew("Too few arguments for check-novalidate: missing namespace")
            }
            guard let signatureFile else {
                return Self.tooFew("Too few arguments for check-novalidate: missing signature file")
            }
            let request = VerifyRequest(
                signatureFile: signatureFile,
                namespace: namespace,
                options: options,
                quiet: quiet
            )
            return Self.verify(request)
        } else if operation.hasPrefix("verify") {
            guard let namespace, !namespace.isEmpty else {
                return Self.tooFew("Too few arguments for verify: missing namespace")
            }
            guard let signatureFile else { return Self.tooFew("Too few arguments for verify: missing signature file") }
            // ssh-keygen 9.2 says "sign" here.
            guard let file else { return Self.tooFew("Too few arguments for sign: missing allowed keys file") }
            guard let identity else { return Self.tooFew("Too few arguments for verify: missing principal identity") }
            var request = VerifyRequest(
                signatureFile: signatureFile,
                namespace: namespace,
                options: options,
                quiet: quiet
            )
            request.identity = identity
            request.allowedSigners = file
            request.revokedKeys = revokedKeys
            return Self.verify(request)
        }
        KeygenLog.error("Unsupported operation for -Y: \"\(operation)\"")
        return Self.usage()
    }

    /// What ssh-keygen's fatal() and `return -1` from main leave as the exit status.
    private static let failed: Int32 = 255

    private static func tooFew(_ message: String) -> Int32 {
        KeygenLog.error(message)
        return 1
    }

    /// An ssherr.h code returned from main, as the shell sees it.
    private static func exitStatus(ssherr code: Int8) -> Int32 { Int32(UInt8(bitPattern: code)) }

    // MARK: -O options

    /// ssh-keygen.c `sig_process_opts`: the options an operation accepts (names without
    /// case); anything else is refused with "Invalid option".
    private struct SignatureOptions {
        var hashAlgorithm: String?
        var verifyTime: UInt64 = AllowedSigners.currentTime()
        var printPublicKey = false

        /// nil when an option is refused (the error line is printed).
        init?(
            _ options: [String],
            hashAlgorithm allowHash: Bool = false,
            verifyTime allowVerify: Bool = false,
            printPublicKey allowPrint: Bool = false
        ) {
            var time: UInt64?
            for option in options {
                let lower = option.lowercased()
                if allowHash && lower.hasPrefix("hashalg=") {
                    self.hashAlgorithm = String(option.dropFirst(8))
                } else if allowVerify && lower.hasPrefix("verify-time=") {
                    guard let t = AllowedSigners.parseTime(option.dropFirst(12).utf8), t != 0 else {
                        KeygenLog.error("Invalid \"verify-time\" option")
                        return nil
                    }
                    time = t
                } else if allowPrint && lower == "print-pubkey" {
                    self.printPublicKey = true
                } else {
                    KeygenLog.error("Invalid option \"\(option)\"")
                    return nil
                }
            }
            if let time { self.verifyTime = time }
        }
    }

    // MARK: find-principals and match-principals

    private static func findPrincipals(signatureFile: String, allowedSigners: String, options: [String]) -> Int32 {
        var principals: [String]?
        if let options = SignatureOptions(options, verifyTime: true),
            let signature = Self.readSignature(signatureFile, caller: "sig_find_principals")
        {
            // sshsig_get_pubkey reads only the key: the signature itself is not checked.
            switch Self.readFile(allowedSigners) {
            case .failure(let error):
                KeygenLog.error("Unable to open allowed keys file \"\(allowedSigners)\": \(errnoText(error.code))")
                KeygenLog.error("sig_find_principals: sshsig_find_principal: \(errnoText(error.code))")
            case .success(let contents):
                let signers = AllowedSigners(contents: contents, path: allowedSigners)
                let search = signers.openSSHSearch(
                    signature.publicKey,
                    principal: nil,
                    namespace: nil,
                    time: options.verifyTime
                )
                search.diagnostics.forEach(KeygenLog.error)
                if search.entry != nil { principals = search.principals }
            }
        }
        guard let principals else {
            KeygenLog.plain("No principal matched.")
            return Self.failed
        }
        writeOut(principals.map { $0 + "\n" }.joined())
        return 0
    }

    private static func matchPrincipals(allowedSigners: String, principal: String, options: [String]) -> Int32 {
        // sig_process_opts with nothing allowed: every -O is refused (SSH_ERR_INVALID_ARGUMENT).
        guard let _ = SignatureOptions(options) else { return Self.exitStatus(ssherr: -10) }
        let contents: [UInt8]
        switch Self.readFile(allowedSigners) {
        case .failure(let error):
            KeygenLog.error("Unable to open allowed keys file \"\(allowedSigners)\": \(errnoText(error.code))")
            KeygenLog.plain("No principal matched.")
            return Self.exitStatus(ssherr: -24)
        case .success(let bytes):
            contents = bytes
        }
        do {
            let found = try AllowedSigners(contents: contents, path: allowedSigners).matchPrincipals(principal)
            writeOut(found.map { $0 + "\n" }.joined())
            return 0
        } catch {
            // SSH_ERR_INVALID_FORMAT for a malformed line (sshsig.c printed it), else SSH_ERR_KEY_NOT_FOUND.
            let malformed = error.code == .invalidFormat
            if malformed { KeygenLog.error(error.message) }
            KeygenLog.plain("No principal matched.")
            return Self.exitStatus(ssherr: malformed ? -4 : -46)
        }
    }

    // MARK: verify and check-novalidate

    private struct VerifyRequest {
        var signatureFile: String
        var namespace: String
        var options: [String]
        var quiet: Bool
        /// nil for check-novalidate.
        var identity: String?
        var allowedSigners: String?
        var revokedKeys: String?
    }

    /// ssh-keygen.c `sig_verify`.
    private static func verify(_ request: VerifyRequest) -> Int32 {
        var printPublicKey = false
        var verified: SSHSIGSignature?
        if let options = SignatureOptions(request.options, verifyTime: true, printPublicKey: true),
            let signature = Self.readSignature(request.signatureFile, caller: "sig_verify"),
            Self.checkSignature(signature, namespace: request.namespace),
            Self.notRevoked(signature.publicKey, by: request.revokedKeys),
            Self.allowed(signature.publicKey, request: request, time: options.verifyTime)
        {
            printPublicKey = options.printPublicKey
            verified = signature
        }
        guard let verified else {
            if !request.quiet { writeOut("Could not verify signature.\n") }
            return Self.failed
        }
        if !request.quiet {
            let key = "\(verified.publicKey.type.displayName) key \(verified.publicKey.fingerprint())"
            if let identity = request.identity {
                writeOut("Good \"\(request.namespace)\" signature for \(identity) with \(key)\n")
            } else {
                writeOut("Good \"\(request.namespace)\" signature with \(key)\n")
            }
        }
        if printPublicKey { writeOut(verified.publicKey.openSSHLine() + "\n") }
        return 0
    }

    /// sshsig.c `sshsig_verify_fd`: the message on standard input, hashed as the signature
    /// says, then the namespace, the RSA signature algorithm and the signature, each refusal
    /// in sshsig.c's words.
    private static func checkSignature(_ signature: SSHSIGSignature, namespace: String) -> Bool {
        let digest: SSHSIGMessageHash
        do {
            digest = try SSHSIGMessageHash(algorithm: signature.hashAlgorithm, fileDescriptor: 0)
        } catch {
            KeygenLog.error("hash_file: read: \(errnoText(errno))")
            KeygenLog.error("sshsig_verify_fd: hash_file: \(errnoText(errno))")
            return false
        }
        guard signature.namespace == namespace else {
            KeygenLog.error("Couldn't verify signature: namespace does not match")
            return false
        }
        let algorithm = signature.signature.algorithm
        if signature.publicKey.plainKey.type == .rsa && !["rsa-sha2-512", "rsa-sha2-256"].contains(algorithm) {
            KeygenLog.error("Couldn't verify signature: unsupported RSA signature algorithm \(algorithm)")
            return false
        }
        do {
            try signature.verify(messageHash: digest, namespace: namespace)
        } catch {
            KeygenLog.error("Signature verification failed: incorrect signature")
            return false
        }
        return true
    }

    /// sshkey_check_revoked, which says nothing when it refuses.
    private static func notRevoked(_ key: SSHPublicKey, by path: String?) -> Bool {
        guard let path else { return true }
        guard let revoked = try? RevokedKeys(path: path) else { return false }
        return !revoked.isRevoked(key)
    }

    /// sshsig.c `sshsig_check_allowed_keys`, for verify (check-novalidate has no file).
    private static func allowed(_ key: SSHPublicKey, request: VerifyRequest, time: UInt64) -> Bool {
        guard let path = request.allowedSigners, let identity = request.identity else { return true }
        switch Self.readFile(path) {
        case .failure(let error):
            KeygenLog.error("Unable to open allowed keys file \"\(path)\": \(errnoText(error.code))")
            return false
        case .success(let contents):
            let search = AllowedSigners(contents: contents, path: path).openSSHSearch(
                key,
                principal: identity,
                namespace: request.namespace,
                time: time
            )
            search.diagnostics.forEach(KeygenLog.error)
            return search.entry != nil
        }
    }

    /// sshbuf_load_file and sshsig_dearmor, then the blob read as sshsig.c reads it; nil
    /// (the error lines printed, `caller` naming ssh-keygen's function in them) when it cannot be.
    private static func readSignature(_ path: String, caller: String) -> SSHSIGSignature? {
        let text: [UInt8]
        switch Self.readFile(path) {
        case .failure(let error):
            KeygenLog.error("Couldn't read signature file: \(errnoText(error.code))")
            return nil
        case .success(let bytes):
            text = bytes
        }
        let begin = Array("-----BEGIN SSH SIGNATURE-----\n".utf8)
        guard text.starts(with: begin) else {
            KeygenLog.error("Couldn't parse signature: missing header")
            KeygenLog.error(
                "\(caller): sshsig_armor: \(text.count < begin.count ? "incomplete message" : "invalid format")"
            )
            return nil
        }
        let footer = Array("\n-----END SSH SIGNATURE-----".utf8)
        let body = text[begin.count...]
        guard body.count >= footer.count, Self.contains(footer, in: body) else {
            KeygenLog.error("Couldn't parse signature: missing footer")
            KeygenLog.error(
                "\(caller): sshsig_armor: \(body.count < footer.count ? "incomplete message" : "invalid format")"
            )
            return nil
        }
        do {
            return try SSHSIGSignature(armored: text)
        } catch {
            // sshsig.c reads the preamble, then the fields, each refusal in its words.
            let blobIsBase64 = error.message.contains("base64")
            if blobIsBase64 {
                KeygenLog.error("sshsig_dearmor: decode base64: invalid format")
                KeygenLog.error("\(caller): sshsig_armor: invalid format")
            } else if error.message.contains("preamble") {
                KeygenLog.error("Couldn't verify signature: invalid format")
            } else if error.code == .unsupported && error.message.contains("version") {
                KeygenLog.error("Signature version is larger than supported version 1")
            } else {
                KeygenLog.error("sshsig_wrap_verify: parse signature object: invalid format")
            }
            return nil
        }
    }

    private static func contains(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Bool {
        var i = haystack.startIndex
        while i + needle.count <= haystack.endIndex {
            if haystack[i..<i + needle.count].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    // MARK: sign

    private struct SignRequest {
        var keyPath: String
        var namespace: String
        var files: [String]
        var requireAgent = false
        var options: [String] = []
        var provider: String?
        var passphrase: String?
        var quiet = false
    }

    /// ssh-keygen.c `sig_sign`: the key in ssh-agent when it holds it (required with -U),
    /// else the private key ssh-keygen's `load_sign_key` finds; then each file in turn.
    private static func sign(_ request: SignRequest) -> Int32 {
        for (i, file) in request.files.enumerated() where file == "-" && (i > 0 || request.files.count > 1) {
            KeygenLog.error("Cannot sign mix of paths and standard input")
            return Self.failed
        }
        guard let options = SignatureOptions(request.options, hashAlgorithm: true) else { return Self.failed }
        guard let publicKey = Self.loadPublicKey(request.keyPath) else {
            KeygenLog.error("Couldn't load public key \(request.keyPath): \(errnoText(ENOENT))")
            return Self.failed
        }
        let signer: SSHKeySigner
        switch Self.agentSigner(for: publicKey, path: request.keyPath) {
        case .some(.some(let agentSigner)):
            signer = agentSigner
        case .some(.none) where request.requireAgent:
            KeygenLog.error("Couldn't find key in agent")
            return Self.failed
        case .none where request.requireAgent:
            KeygenLog.error("Couldn't get agent socket")
            return Self.failed
        default:
            guard let loaded = Self.loadSigningKey(request, publicKey: publicKey) else { return Self.failed }
            signer = loaded
        }
        let files = request.files.isEmpty ? ["-"] : request.files
        for file in files {
            let fd: Int32
            if file == "-" {
                fd = 0
            } else {
                fd = open(file, O_RDONLY)
                guard fd >= 0 else {
                    KeygenLog.error("Cannot open \(file) for signing: \(errnoText(errno))")
                    return Self.failed
                }
            }
            defer { if fd != 0 { close(fd) } }
            let name = request.files.isEmpty ? "(stdin)" : file
            guard Self.signOne(signer, name: name, fd: fd, namespace: request.namespace, options, request) else {
                return Self.failed
            }
        }
        return 0
    }

    /// ssh-keygen.c `sign_one`: one file (or standard input) signed, its signature written
    /// to FILE.sig (asking first, on standard output, when it exists) or standard output.
    private static func signOne(
        _ signer: SSHKeySigner,
        name: String,
        fd: Int32,
        namespace: String,
        _ options: SignatureOptions,
        _ request: SignRequest
    ) -> Bool {
        if !request.quiet {
            KeygenLog.plain(fd == 0 ? "Signing data on standard input" : "Signing file \(name)")
        }
        let hashName = options.hashAlgorithm ?? SSHSIGSignature.HashAlgorithm.default.rawValue
        guard let hash = SSHSIGSignature.HashAlgorithm(rawValue: hashName) else {
            KeygenLog.error("sshsig_check_hashalg: unsupported hash algorithm \"\(hashName.prefix(100))\"")
            KeygenLog.error("sshsig_sign_fd: hash_file: signature algorithm not supported")
            KeygenLog.error("Signing \(name) failed: signature algorithm not supported")
            return false
        }
        let armored: String
        do {
            let digest = try SSHSIGMessageHash(algorithm: hash, fileDescriptor: fd, name: name)
            armored = try SSHSIGSignature.sign(messageHash: digest, signer: signer, namespace: namespace).armored
        } catch {
            KeygenLog.error("Couldn't sign message: \(error.message)")
            KeygenLog.error("Signing \(name) failed: \(error.message)")
            return false
        }
        if fd == 0 {
            writeOut(armored)
            return true
        }
        let target = name + ".sig"
        guard Self.confirmOverwrite(target) else { return true }
        // ssh-keygen opens FILE.sig 0666 less the umask.
        let mask = umask(0o022)
        umask(mask)
        do {
            try KeyFileIO.writeAtomically(
                path: target,
                contents: Array(armored.utf8),
                mode: UInt32(0o666 & ~mask),
                overwrite: true
            )
        } catch {
            KeygenLog.error("Cannot open \(target): \(error.message)")
            return false
        }
        if !request.quiet { KeygenLog.plain("Write signature to \(target)") }
        return true
    }

    /// ssh-keygen.c `confirm_overwrite`: asks on standard output, reads the answer from
    /// standard input; y or Y overwrites.
    private static func confirmOverwrite(_ path: String) -> Bool {
        guard KeyFileIO.fileExists(path) else { return true }
        writeOut("\(path) already exists.\nOverwrite (y/n)? ")
        var answer: UInt8 = 0
        guard read(0, &answer, 1) == 1 else { return false }
        var c = answer
        while c != UInt8(ascii: "\n") && read(0, &c, 1) == 1 {}
        return answer == UInt8(ascii: "y") || answer == UInt8(ascii: "Y")
    }

    /// authfile.c `sshkey_load_public`: the first key line of `path`, else of `path.pub`,
    /// else the public half an openssh-key-v1 private key file holds in the clear.
    static func loadPublicKey(_ path: String) -> SSHPublicKey? {
        if let (key, _) = loadPublicKeyLikeSSHAdd(path) { return key }
        guard case .success(var bytes) = Self.readFile(path) else { return nil }
        defer { secureWipe(&bytes) }
        return SSHPublicKey.fromPrivateKeyFile(bytes)
    }

    /// ssh-keygen.c `sig_sign`'s agent: `.none` when there is no agent to ask, `.some(nil)`
    /// when it does not hold `key`, else a signer through it (`ssh_agent_has_key`, `agent_signer`).
    private static func agentSigner(for key: SSHPublicKey, path: String) -> SSHKeySigner?? {
        guard let socket = getenv("SSH_AUTH_SOCK").map({ String(cString: $0) }), !socket.isEmpty,
            let agent = try? SSHAgentClient(socketPath: socket)
        else { return .none }
        guard let keys = try? agent.identities(), keys.contains(where: { $0.publicKey == key }) else {
            return .some(nil)
        }
        // sshsig.c RSA_SIGN_ALG: RSA signs with rsa-sha2-512.
        let algorithm = key.plainKey.type == .rsa ? "rsa-sha2-512" : key.type.sshName
        return .some(try? keysmith.agentSigner(for: key, algorithm: algorithm, named: path))
    }

    /// ssh-keygen.c `load_sign_key`: the private key beside a `.pub` or `-cert.pub` path
    /// (or the path itself), its passphrase from -P or asked as `load_identity` asks; it
    /// must match `publicKey`, and signs presenting `publicKey` when that is a certificate.
    private static func loadSigningKey(_ request: SignRequest, publicKey: SSHPublicKey) -> SSHKeySigner? {
        var privatePath = request.keyPath
        var wasPublic = false
        for suffix in ["-cert.pub", ".pub"] where privatePath.count > suffix.count && privatePath.hasSuffix(suffix) {
            privatePath.removeLast(suffix.count)
            wasPublic = true
        }
        if wasPublic && !KeyFileIO.fileExists(privatePath) {
            KeygenLog.error("No private key found for public key \"\(request.keyPath)\"")
            return nil
        }
        guard case .success(var contents) = Self.readFile(privatePath) else {
            KeygenLog.error("No private key found for \"\(privatePath)\"")
            return nil
        }
        defer { secureWipe(&contents) }
        let privateKey: SSHPrivateKey
        do {
            privateKey = try SSHPrivateKey(fileContents: contents, passphrase: nil)
        } catch  where [SSHKeyError.Code.passphraseRequired, .wrongPassphrase].contains(error.code) {
            let passphrase: SecureBytes?
            if let given = request.passphrase {
                passphrase = SecureBytes(utf8: given)
            } else {
                passphrase = try? askSecret(prompt: "Enter passphrase: ")
            }
            do {
                privateKey = try SSHPrivateKey(fileContents: contents, passphrase: passphrase ?? SecureBytes(utf8: ""))
            } catch {
                KeygenLog.error(
                    "Load key \"\(privatePath)\": incorrect passphrase supplied to decrypt private key"
                )
                return nil
            }
        } catch {
            KeygenLog.error("No private key found for \"\(privatePath)\"")
            return nil
        }
        guard privateKey.publicKey == publicKey.plainKey else {
            KeygenLog.error("Public key \(request.keyPath) doesn't match private \(privatePath)")
            return nil
        }
        var providerOption = SecurityKeyProviderOption()
        providerOption.provider = request.provider
        guard let signer = try? keySigner(for: privateKey, provider: providerOption) else {
            KeygenLog.error("Couldn't sign message: invalid format")
            return nil
        }
        guard publicKey.certificate != nil else { return signer }
        return SSHKeySigner(publicKey: publicKey) { (data) throws(SSHKeyError) in try signer.sign(data) }
    }

    // MARK: Files and usage

    /// sshbuf_load_file: the whole file, or the errno that stopped it.
    private static func readFile(_ path: String) -> Result<[UInt8], SystemError> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(SystemError(code: errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(code: errno))
            }
            if n == 0 { return .success(out) }
            out += buffer[0..<n]
        }
    }
}

/// The errno that stopped a read.
private struct SystemError: Error {
    let code: Int32
}

/// strerror's words for an errno.
private func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// ssh-keygen's standard error: log.c's lines for error() and fatal(), and the lines it
/// prints with fprintf.
private enum KeygenLog {
    /// log.c `do_log` writing to standard error: the message made safe as strnvis with
    /// VIS_SAFE | VIS_OCTAL makes it (other control characters, DEL, bytes from 0x80 and
    /// backslashes escaped), then CR LF.
    static func error(_ message: String) {
        var line: [UInt8] = []
        for byte in message.utf8 {
            let visible = (0x20...0x7E).contains(byte) || [0x07, 0x08, 0x09, 0x0A, 0x0D].contains(byte)
            if byte == UInt8(ascii: "\\") {
                line += [byte, byte]
            } else if visible {
                line.append(byte)
            } else {
                line += Array("\\".utf8) + Array(String(byte, radix: 8).leftPadded(to: 3).utf8)
            }
        }
        line += [0x0D, 0x0A]
        Self.emit(line)
    }

    /// fprintf(stderr, "%s\n", …): the text as it is.
    static func plain(_ message: String) { Self.emit(Array((message + "\n").utf8)) }

    private static func emit(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var offset = 0
            while offset < p.count {
                let n = write(2, p.baseAddress! + offset, p.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
