import SSHKeys

/// The ssh-keygen link's operations on other files: known_hosts, certificates, KRLs and
/// key conversion. Those whose output keysmith does not yet match byte for byte through
/// the link are refused in one sentence, never run with another meaning.
extension SSHKeygenLink.Invocation {
    func knownHosts() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-F, -R and -H (known_hosts)") }

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

    func convertTo() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-e (key export)") }

    func convertFrom() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-i (key import)") }
}
