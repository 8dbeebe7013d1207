import SSHKeys

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
    func knownHosts() throws -> Int32 {
        let g = self.getopt
        if g.has("F") && (g.has("l") || g.has("v")) {
            return OpenSSHLink.notImplemented(.sshKeygen, "-F with -l or -v")
        }
        if g.has("R") && g.has("H") && !g.has("F") { return OpenSSHLink.notImplemented(.sshKeygen, "-R with -H") }
        let path = self.identityFile ?? Self.passwordHome() + "/.ssh/known_hosts"
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SSHKeygenLink.fatal("Cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        let file: KnownHostsFile
        do { file = KnownHostsFile(contents: try KeyFileIO.readFile(path)) } catch {
            throw SSHKeygenLink.fatal("hostkeys_foreach: \(Self.systemReason(path))")
        }
        let host = g.last("F") ?? g.last("R") ?? ""
        if g.has("F") {
            let out = file.findOutput(host: host, hash: g.has("H"))
            writeOut(String(decoding: out, as: UTF8.self))
            return out.isEmpty ? 1 : 0
        }
        let backup = KnownHostsMessages.backupPath(for: path)
        func invalid(_ lines: [Int]) -> Int32 {
            for n in lines { SSHKeygenLink.log(KnownHostsMessages.invalidLine(path: path, lineNumber: n)) }
            SSHKeygenLink.log(KnownHostsMessages.notValidFile(path: path))
            SSHKeygenLink.log(KnownHostsMessages.notReplacing)
            return 1
        }
        var out = ""
        if g.has("R") {
            let removal = file.removing(host: host)
            guard removal.isValid else { return invalid(removal.invalidLineNumbers) }
            guard removal.shouldWrite else {
                SSHKeygenLink.log(KnownHostsMessages.notFound(host: host, path: path))
                return 0
            }
            for n in removal.removedLineNumbers { out += KnownHostsMessages.removed(host: host, lineNumber: n) + "\n" }
            try KeyFileIO.replaceKeepingBackup(path: path, contents: removal.contents, backupPath: backup)
        } else {
            let hashing = file.hashed()
            for w in hashing.wildcardLines {
                SSHKeygenLink.log(
                    KnownHostsMessages.ignoringWildcard(path: path, lineNumber: w.lineNumber, hosts: w.hosts)
                )
            }
            guard hashing.isValid else { return invalid(hashing.invalidLineNumbers) }
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

    /// ssh-keygen -L: each certificate of the file, as `keysmith cert show` prints it, with
    /// ssh-keygen's messages for the lines that hold none.
    func showCertificate() throws -> Int32 {
        guard self.hash == .sha256 else { return OpenSSHLink.notImplemented(.sshKeygen, "-L with -E") }
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
                writeOut(escapeControlCharacters(header + certificate.keygenDescription))
            }
        }
        return found ? 0 : 1
    }

    func signCertificates() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-s (signing certificates)") }

    func generateKRL() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-k (KRLs)") }

    func checkKRL() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-Q (KRLs)") }

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

    func convertFrom() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-i (key import)") }
}
