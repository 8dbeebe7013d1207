/// keysmith run as `ssh-keygen` (see OpenSSHLink).
enum SSHKeygenLink {
    static func run(_ arguments: [String]) -> Int32 {
        OpenSSHLink.notImplemented(.sshKeygen, "this command line")
    }
}
