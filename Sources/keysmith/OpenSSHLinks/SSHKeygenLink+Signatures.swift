extension SSHKeygenLink {
    static func signatureOperation(_ getopt: Getopt) -> Int32 { OpenSSHLink.notImplemented(.sshKeygen, "-Y") }
}
