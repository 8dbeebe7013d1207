/// The ssh-keygen link's operations on other files: known_hosts, certificates, KRLs and
/// key conversion. Those whose output keysmith does not yet match byte for byte through
/// the link are refused in one sentence, never run with another meaning.
extension SSHKeygenLink.Invocation {
    func knownHosts() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-F, -R and -H (known_hosts)") }

    func showCertificate() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-L (showing certificates)") }

    func signCertificates() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-s (signing certificates)") }

    func generateKRL() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-k (KRLs)") }

    func checkKRL() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-Q (KRLs)") }

    func convertTo() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-e (key export)") }

    func convertFrom() throws -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-i (key import)") }
}
