/// keysmith run as `ssh-copy-id` (see OpenSSHLink).
enum SSHCopyIDLink {
    static func run(_ arguments: [String]) -> Int32 {
        OpenSSHLink.notImplemented(.sshCopyID, "this command line")
    }
}
