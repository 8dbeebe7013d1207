/// keysmith run as `ssh-add` (see OpenSSHLink).
enum SSHAddLink {
    static func run(_ arguments: [String]) -> Int32 {
        OpenSSHLink.notImplemented(.sshAdd, "this command line")
    }
}
