import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol
import SecurityKey

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ssh-keygen link's operations on other files: known_hosts, certificates, KRLs and
/// key conversion. Those whose output keysmith does not yet match byte for byte through
/// the link are refused in one sentence, never run with another meaning.
extension SSHKeygenLink.Invocation {
    /// ssh-keygen -F, -R and -H on known_hosts (FILE of -f, else ~/.ssh/known_hosts of the
    /// password entry's home), through the known_hosts code `keysmith known-hosts` uses.
    /// -F -l prints each found entry's fingerprint (and -v its randomart); -R -H hashes the
    /// file's names as ssh-keygen 9.2 does with that pair, writes nothing and finds no host.
    func knownHosts() throws -> Int32 {
        let g = self.getopt
        let path = self.identityFile ?? Self.passwordHome() + "/.ssh/known_hosts"
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SSHKeygenLink.fatal("Cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        let file: KnownHostsFile
        do { file = KnownHostsFile(contents: try KeyFileIO.readFile(path)) } catch {
            throw SSHKeygenLink.fatal("hostkeys_foreach: \(Self.systemReason(path))")
        }
        // -F and -R keep their host in one variable: the last of them names it.
        let host = g.options.last { $0.letter == "F" || $0.letter == "R" }?.value ?? ""
        // -v is log level DEBUG1, past VERBOSE, where hostkeys_foreach_file reports bad markers.
        let badMarkers = g.has("v") ? file.lines.filter(\.hasMarkerError).map(\.number) : []
        if g.has("F") {
            for n in badMarkers { SSHKeygenLink.log(Self.invalidMarker(path: path, lineNumber: n)) }
            if g.has("R") { return self.findDeleting(file, host: host, path: path) }
            let (out, found) =
                g.has("l")
                ? self.foundFingerprints(file, host: host)
                : (file.findOutput(host: host, hash: g.has("H"), quiet: g.has("q")), !file.find(host: host).isEmpty)
            writeOut(String(decoding: out, as: UTF8.self))
            return found ? 0 : 1
        }
        // The callbacks' lines, in the order of the file's lines, as hostkeys_foreach goes.
        func logLines(invalid: [Int], wildcards: [KnownHostsHashing.WildcardLine]) {
            var byLine: [Int: [String]] = [:]
            for n in badMarkers { byLine[n, default: []].append(Self.invalidMarker(path: path, lineNumber: n)) }
            for w in wildcards {
                byLine[w.lineNumber, default: []].append(
                    KnownHostsMessages.ignoringWildcard(path: path, lineNumber: w.lineNumber, hosts: w.hosts)
                )
            }
            for n in invalid {
                byLine[n, default: []].append(KnownHostsMessages.invalidLine(path: path, lineNumber: n))
            }
            for n in byLine.keys.sorted() { byLine[n]?.forEach(SSHKeygenLink.log) }
        }
        func refuse() -> Int32 {
            SSHKeygenLink.log(KnownHostsMessages.notValidFile(path: path))
            SSHKeygenLink.log(KnownHostsMessages.notReplacing)
            return 1
        }
        let backup = KnownHostsMessages.backupPath(for: path)
        var out = ""
        if g.has("R") && !g.has("H") {
            let removal = file.removing(host: host)
            logLines(invalid: removal.invalidLineNumbers, wildcards: [])
            for n in removal.removedLineNumbers where !g.has("q") {
                out += KnownHostsMessages.removed(host: host, lineNumber: n) + "\n"
            }
            guard removal.isValid else {
                // known_hosts_find_delete printed them as it went; exit(1) flushes stdout.
                writeOut(out)
                return refuse()
            }
            guard removal.shouldWrite else {
                SSHKeygenLink.log(KnownHostsMessages.notFound(host: host, path: path))
                return 0
            }
            try KeyFileIO.replaceKeepingBackup(path: path, contents: removal.contents, backupPath: backup)
        } else {
            // do_known_hosts with -R and -H runs known_hosts_hash, which never finds the host.
            let hashing = file.hashed(host: g.has("R") ? host : nil)
            logLines(invalid: hashing.invalidLineNumbers, wildcards: hashing.wildcardLines)
            guard hashing.isValid else { return refuse() }
            if g.has("R") {
                SSHKeygenLink.log(KnownHostsMessages.notFound(host: host, path: path))
                return 0
            }
            try KeyFileIO.replaceKeepingBackup(path: path, contents: hashing.contents, backupPath: backup)
            if hashing.hadUnhashedEntries {
                for line in KnownHostsMessages.unhashedWarning(backupPath: backup) { SSHKeygenLink.log(line) }
            }
        }
        writeOut(
            out + KnownHostsMessages.updated(path: path) + "\n"
                + KnownHostsMessages.originalRetained(backupPath: backup) + "\n"
        )
        return 0
    }

    /// ssh-keygen -F host -R host: known_hosts_find_delete deleting onto stdout, the file left
    /// as it is. Of the lines that match, a CA or revocation line is printed and the others
    /// are "found" (their line unless -q); a matching line that is invalid is printed and
    /// makes the file invalid (exit 1); "Host H not found in FILE" when none was found.
    private func findDeleting(_ file: KnownHostsFile, host: String, path: String) -> Int32 {
        var out = [UInt8]()
        var found = false
        var invalid = false
        for (line, entry) in file.matchingLines(host: host) {
            if let entry, entry.marker == nil {
                found = true
                if !self.getopt.has("q") {
                    out += Array((KnownHostsMessages.removed(host: host, lineNumber: line.number) + "\n").utf8)
                }
                continue
            }
            if entry == nil {
                invalid = true
                SSHKeygenLink.log(KnownHostsMessages.invalidLine(path: path, lineNumber: line.number))
            }
            out += line.raw + [UInt8(ascii: "\n")]
        }
        writeOut(String(decoding: out, as: UTF8.self))
        if invalid {
            SSHKeygenLink.log(KnownHostsMessages.notValidFile(path: path))
            return 1
        }
        if !found { SSHKeygenLink.log(KnownHostsMessages.notFound(host: host, path: path)) }
        return found ? 0 : 1
    }

    /// hostfile.c's verbose line for a marker check_markers refuses.
    private static func invalidMarker(path: String, lineNumber: Int) -> String {
        "hostkeys_foreach_file: invalid marker at \(path):\(lineNumber)"
    }

    /// ssh-keygen -F host -l [-v] [-E hash] [-B]: known_hosts_find_delete's lines for each
    /// entry of `host` whose key parses (hostkeys_foreach calls the others invalid): the
    /// "found" line (not with -q), "HOST TYPE FINGERPRINT[ COMMENT]" through mprintf, and
    /// with -v the randomart. -B shows the SHA-1 bubblebabble. `found`: whether any was.
    private func foundFingerprints(_ file: KnownHostsFile, host: String) -> (output: [UInt8], found: Bool) {
        var out = ""
        var found = false
        for match in file.find(host: host) {
            let entry = match.entry
            guard let key = try? SSHPublicKey(openSSHLine: "\(entry.keyType) \(entry.keyData)") else { continue }
            found = true
            if !self.getopt.has("q") {
                out += KnownHostsMessages.found(host: host, lineNumber: match.lineNumber, marker: entry.marker) + "\n"
            }
            let fingerprint = key.fingerprint(self.hash)
            appendEscapedForTerminal(Array(host.utf8), to: &out)
            out += " \(key.type.displayName) "
            out += self.getopt.has("B") ? key.fingerprint(.sha1).bubbleBabble : fingerprint.description
            if !entry.comment.isEmpty {
                out += " "
                appendEscapedForTerminal(Array(entry.comment.utf8), to: &out)
            }
            out += "\n"
            if self.getopt.has("v") {
                out += fingerprint.randomArt(title: "\(key.type.displayName) \(key.bits)") + "\n"
            }
        }
        return (Array(out.utf8), found)
    }

    /// ssh-keygen -L [-E hash]: each certificate of the file, as `keysmith cert show` prints
    /// it (its fingerprints made with -E's hash), with ssh-keygen's messages for the lines
    /// that hold none.
    func showCertificate() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        let isStandardInput = path == "-"
        let name = isStandardInput ? "(stdin)" : path
        let contents: [UInt8]
        do {
            contents = isStandardInput ? try readStandardInput() : try KeyFileIO.readFile(path)
        } catch {
            throw SSHKeygenLink.fatal("ssh-keygen: \(path): \(Self.systemReason(path))")
        }
        var found = false
        for (index, line) in keygenLines(contents).enumerated() {
            let number = index + 1
            switch CertificateLine(line) {
            case .skipped: continue
            case .invalid: SSHKeygenLink.log("\(name):\(number): invalid key: invalid format")
            case .notCertificate: SSHKeygenLink.log("\(name):\(number) is not a certificate")
            case .certificate(let certificate):
                found = true
                let header = !isStandardInput && number == 1 ? "\(name):\n" : "\(name):\(number):\n"
                writeOut(escapeControlCharacters(header + certificate.keygenDescription(hash: self.hash)))
            }
        }
        return found ? 0 : 1
    }

    /// ssh-keygen -s CA -I ID FILE...: each FILE's key (FILE, else FILE.pub) certified by the
    /// CA's private key as `keysmith cert sign` certifies it, written to FILE-cert.pub (a .pub
    /// taken off first) and reported, one key after another as ssh-keygen's do_ca_sign goes.
    /// With -U the CA is the key of CA (a public key) that ssh-agent holds; a security key CA
    /// signs on its authenticator through the provider of -w, else SSH_SK_PROVIDER.
    func signCertificates() throws -> Int32 {
        let g = self.getopt
        // do_ca_sign tries a PKCS#11 provider (-D) before the agent (-U).
        if g.has("D") { return OpenSSHLink.notImplemented(.sshKeygen, "-s with -D (PKCS#11 CA keys)") }
        let kind: SSHCertificate.Kind = g.has("h") ? .host : .user
        var options = CertificateOptions(kind: kind)
        for option in g.all("O") {
            do { try options.apply(option) } catch {
                throw SSHKeygenLink.fatal(
                    error.message.hasPrefix("unsupported certificate option")
                        ? "Unsupported certificate option \"\(option)\"" : sentence(error.message)
                )
            }
        }
        let caPath = expandTilde(g.last("s") ?? "")
        let authority = try g.has("U") ? Self.agentAuthority(caPath) : self.fileAuthority(caPath)
        let requested = g.last("t")
        let algorithm: String
        do throws(SSHKeyError) {
            algorithm = try CertificateBuilder.signatureAlgorithm(for: authority.publicKey, requested: requested)
        } catch {
            let type = authority.publicKey.type.sshName
            throw SSHKeygenLink.fatal(
                requested.map { "CA key type \(type) doesn't match specified \($0)" } ?? sentence(error.message)
            )
        }
        let signer = try authority.signer(algorithm)
        let principalList = g.last("n")
        let principals = principalList.map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        if principals?.contains(where: \.isEmpty) == true { throw SSHKeygenLink.fatal("Empty principal name") }
        var serial = self.serial.first
        for operand in g.operands {
            let path = expandTilde(operand)
            let key: SSHPublicKey
            let comment: String
            do { (key, comment) = try readPublicKey(path) } catch {
                guard let certificate = Self.firstKey(path), certificate.type.isCertificate else {
                    throw SSHKeygenLink.fatal("load pubkey \"\(path)\": \(Self.loadPublicReason(path))")
                }
                throw SSHKeygenLink.fatal(
                    "do_ca_sign: key \"\(path)\" type \(certificate.type.displayName) cannot be certified"
                )
            }
            var builder = try CertSign.builder(
                key: key,
                keyID: g.last("I") ?? "",
                kind: kind,
                principals: principals ?? [],
                validity: self.validity,
                options: options
            )
            builder.serial = serial
            let certificate: SSHPublicKey
            do {
                certificate = try authority.withNotice(self.hash) { () throws(SSHKeyError) in
                    try builder.sign(with: signer, algorithm: algorithm)
                }
            } catch {
                throw SSHKeygenLink.fatal(authority.failure(path, error))
            }
            let output = CertSign.certificatePath(for: path)
            try CertSign.save(certificate, comment: comment, to: output)
            if !g.has("q") {
                SSHKeygenLink.log(CertSign.report(certificate, output: output, principals: principalList))
            }
            if self.serial.increments { serial &+= 1 }
        }
        return 0
    }

    /// The CA key of do_ca_sign, private or held by ssh-agent.
    private struct CertificateAuthority {
        var publicKey: SSHPublicKey
        /// The signer under the signature algorithm chosen.
        var signer: (_ algorithm: String) throws -> SSHKeySigner
        /// do_ca_sign's sentence for a key it could not certify.
        var failure: (_ path: String, _ error: SSHKeyError) -> String
        /// Whether each signature wants a touch of the security key (do_ca_sign's notifier).
        var wantsTouch = false

        /// Runs `sign` as do_ca_sign runs sshkey_certify: for a security key that wants a
        /// touch, notify_start says so first when standard error is a terminal and
        /// notify_complete says it was given after.
        func withNotice<T>(
            _ hash: HashFunction,
            _ sign: () throws(SSHKeyError) -> T
        ) throws(SSHKeyError) -> T {
            guard self.wantsTouch && isatty(2) == 1 else { return try sign() }
            let fingerprint = self.publicKey.fingerprint(hash)
            writeAll(2, "\rConfirm user presence for key \(self.publicKey.type.displayName) \(fingerprint)\r\n")
            defer { writeAll(2, "\rUser presence confirmed\r\n") }
            return try sign()
        }
    }

    /// do_ca_sign's agent branch: the CA's public key from CA (sshkey_load_public), which
    /// ssh-agent at SSH_AUTH_SOCK must hold; each signature is then asked of it.
    private static func agentAuthority(_ path: String) throws -> CertificateAuthority {
        guard let key = SSHKeygenLink.loadPublicKey(path) else {
            throw SSHKeygenLink.fatal("Cannot load CA public key \(path): \(String(cString: strerror(ENOENT)))")
        }
        let socket = getenv("SSH_AUTH_SOCK").map { String(cString: $0) } ?? ""
        guard !socket.isEmpty else {
            throw SSHKeygenLink.fatal("Cannot use public key for CA signature: agent not present")
        }
        let agent: SSHAgentClient
        do { agent = try SSHAgentClient(connectingTo: socket) } catch {
            throw SSHKeygenLink.fatal("Cannot use public key for CA signature: \(error.reason)")
        }
        let keys: [(publicKey: SSHPublicKey, comment: String)]
        do { keys = try agent.identities() } catch {
            throw SSHKeygenLink.fatal("Retrieve agent key list: \(Self.agentReason(error))")
        }
        // ssh_fetch_identitylist fails on an empty list (SSH_ERR_AGENT_NO_IDENTITIES).
        guard !keys.isEmpty else { throw SSHKeygenLink.fatal("Retrieve agent key list: agent contains no identities") }
        guard keys.contains(where: { $0.publicKey == key }) else {
            throw SSHKeygenLink.fatal("CA key \(path) not found in agent")
        }
        return CertificateAuthority(
            publicKey: key,
            signer: { algorithm in
                agentSigner(for: key, algorithm: algorithm, socket: socket) { error in
                    SSHKeyError(.cryptoFailure, Self.agentReason(error))
                }
            },
            failure: { path, error in "Couldn't certify \(path) via agent: \(error.message)" }
        )
    }

    /// ssh_err's words for an agent's failure: a refusal, or a broken conversation.
    private static func agentReason(_ error: SSHProtocolError) -> String {
        switch error.code {
        case .agentRefused, .cryptoFailure, .connectionFailed: "agent refused operation"
        case .protocolViolation: "invalid format"
        default: "communication with agent failed"
        }
    }

    /// do_ca_sign's private key branch: the CA's key from CA (load_identity, its passphrase
    /// asked); a security key that wants user verification has its PIN asked once here.
    private func fileAuthority(_ path: String) throws -> CertificateAuthority {
        let ca = try self.loadIdentity(path, prompt: "Enter passphrase: ", context: "Load key \"\(path)\"")
        guard let credential = ca.securityKey else {
            return CertificateAuthority(
                publicKey: ca.publicKey,
                signer: { algorithm in try SSHKeySigner(certificateAuthority: ca, algorithm: algorithm) },
                failure: { path, error in "Couldn't certify key \(path): \(error.message)" }
            )
        }
        let entered =
            credential.flags.contains(.userVerificationRequired) ? Self.readPassphrase("Enter PIN for CA key: ") : nil
        let pin = entered?.isEmpty == false ? entered : nil
        // ssh-keygen reads SSH_SK_PROVIDER before its options, so -w overrides it.
        let library = self.getopt.last("w") ?? getenv("SSH_SK_PROVIDER").map { String(cString: $0) }
        let refusal = SecurityKeyRefusal()
        let signer = SecurityKeySigning.signer(
            for: ca,
            provider: { () throws(SecurityKeyError) in try SecurityKeySigning.provider(path: library) },
            notice: { _ in },
            withPIN: { attempt in
                do throws(SecurityKeyError) { return try attempt(pin) } catch {
                    refusal.code = error.code
                    throw error
                }
            }
        )
        return CertificateAuthority(
            publicKey: ca.publicKey,
            signer: { _ in signer ?? SSHKeySigner(ca) },
            failure: { path, error in "Couldn't certify key \(path): \(refusal.reason ?? error.message)" },
            wantsTouch: credential.flags.contains(.userPresenceRequired)
        )
    }

    /// The code of the security key's last refusal, kept for do_ca_sign's sentence.
    private final class SecurityKeyRefusal: @unchecked Sendable {
        // @unchecked: set and read on the one thread that signs, one certificate at a time.
        var code: SecurityKeyError.Code?

        /// ssh_err's words for the code as ssh-sk.c's skerr_to_ssherr turns it.
        var reason: String? {
            guard let code = self.code else { return nil }
            return switch code {
            case .pinRequired: "incorrect passphrase supplied to decrypt private key"
            case .unsupported: "requested feature not supported"
            case .deviceNotFound: "device not found"
            case .credentialExists: "bad permissions"
            default: "invalid format"
            }
        }
    }

    /// The first key line of PATH or PATH.pub, certificates included.
    private static func firstKey(_ path: String) -> SSHPublicKey? {
        [path, path + ".pub"].lazy.compactMap { try? KeyFileIO.readFile($0) }
            .compactMap { KeygenLineReader.firstKey(inPublicKeyFile: $0)?.key }.first
    }

    /// sshkey_load_public's reason for a file it cannot read a key from: whatever failed (no
    /// file, no key line in it or in FILE.pub), it "pretends we couldn't find the key".
    private static func loadPublicReason(_ path: String) -> String {
        String(cString: strerror(ENOENT))
    }

    /// ssh-keygen -k -f KRL [-u] [-s CA.pub|none] [-z version] [-C comment] FILE...: the KRL
    /// written (or updated) from revocation specs and key files as `keysmith krl create`
    /// (`update`) writes it.
    func generateKRL() throws -> Int32 {
        let g = self.getopt
        guard let path = self.identityFile, !path.isEmpty else {
            throw SSHKeygenLink.fatal("KRL generation requires an output file")
        }
        let authority = g.last("s")
        if let authority, authority.lowercased() != "none" {
            let caPath = expandTilde(authority)
            guard (try? loadPublicKey(caPath, what: "CA public key")) != nil else {
                throw SSHKeygenLink.fatal("Cannot load CA public key \(caPath): \(Self.loadPublicReason(caPath))")
            }
        }
        for file in g.operands where file != "-" {
            let name = KRLCommand.BuildOptions.specName(file)
            guard (try? KeyFileIO.readFile(name)) != nil else {
                throw SSHKeygenLink.fatal("fopen \(name): \(Self.systemReason(name))")
            }
        }
        do {
            try KRLCommand.BuildOptions.build(
                path: path,
                updating: g.has("u"),
                authority: authority,
                version: g.has("z") ? self.serial.first : nil,
                comment: g.last("C"),
                files: g.operands,
                quiet: true
            )
        } catch {
            // ssh-keygen's "Revoking from" lines wait in stdio's buffer, which its fatal() drops.
            let message = (error as? Failure)?.message ?? (error as? SSHKeyError)?.message ?? "\(error)"
            throw SSHKeygenLink.fatal(message.hasSuffix(": invalid key") ? message + ": invalid format" : message)
        }
        if !g.has("q") {
            writeOut(g.operands.map { "Revoking from \(KRLCommand.BuildOptions.specName($0))\n" }.joined())
        }
        return 0
    }

    /// ssh-keygen -Q [-l] -f KRL FILE...: whether the KRL revokes each key, as `keysmith krl
    /// check` tells it; -l lists the KRL first. Exit status 1 when one is revoked.
    func checkKRL() throws -> Int32 {
        guard let path = self.identityFile, !path.isEmpty else {
            throw SSHKeygenLink.fatal("KRL checking requires an input file")
        }
        let bytes: [UInt8]
        do { bytes = try KeyFileIO.readFile(path) } catch {
            throw SSHKeygenLink.fatal("Unable to load KRL \(path): \(Self.systemReason(path))")
        }
        let krl: KeyRevocationList
        do { krl = try KeyRevocationList(bytes: bytes) } catch {
            let reason = KeyRevocationList.hasMagic(bytes) ? error.message : "KRL file has invalid magic number"
            throw SSHKeygenLink.fatal("Invalid KRL file \(path): \(reason)")
        }
        if self.getopt.has("l") { writeOut(listing(of: krl)) }
        var status: Int32 = 0
        for name in self.getopt.operands {
            let key: SSHPublicKey
            let comment: [UInt8]?
            do { (key, comment) = try loadPublicKey(name, what: "public key") } catch {
                throw SSHKeygenLink.fatal("Cannot load public key \(name): \(Self.loadPublicReason(name))")
            }
            let revoked = krl.isRevoked(key)
            writeOut(KRLCommand.Check.line(name: name, comment: comment, revoked: revoked))
            if revoked { status = 1 }
        }
        return status
    }

    /// ssh-keygen -e [-m RFC4716|PKCS8|PEM]: the public key of FILE (or of FILE.pub, or of
    /// the private key) in another format.
    func convertTo() throws -> Int32 {
        let path = try self.identityFile ?? Self.askFilename("Enter file in which the key is", type: nil)
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SSHKeygenLink.fatal("ssh-keygen: \(path): \(String(cString: strerror(errno)))")
        }
        // sshkey_load_public: the public half an OpenSSH-format private key holds, else the
        // file as a key line, else FILE.pub; failing those, the private key.
        let key: SSHPublicKey
        let contents = try? KeyFileIO.readFile(path)
        if let contents, let embedded = SSHPublicKey.fromPrivateKeyFile(contents) {
            key = embedded
        } else if let line = [path, path + ".pub"].lazy.compactMap({ try? KeyFileIO.readFile($0) })
            .compactMap({ KeygenLineReader.firstKey(inPublicKeyFile: $0) }).first
        {
            key = line.key
        } else {
            key = try self.loadIdentity(path, prompt: "Enter passphrase: ", context: "Load key \"\(path)\"").publicKey
        }
        switch self.conversionFormat {
        case "PKCS8", "PEM":
            guard key.type != .ed25519 else {
                let function = self.conversionFormat == "PEM" ? "do_convert_to_pem" : "do_convert_to_pkcs8"
                throw SSHKeygenLink.fatal("\(function): unsupported key type \(key.type.displayName)")
            }
            writeOut(try self.conversionFormat == "PEM" ? key.pemRepresentation() : key.pkcs8Representation())
        default:
            let comment = "\(key.bits)-bit \(key.type.displayName), converted by \(defaultComment()) from OpenSSH"
            writeOut(key.rfc4716Representation(comment: comment))
        }
        return 0
    }
}
