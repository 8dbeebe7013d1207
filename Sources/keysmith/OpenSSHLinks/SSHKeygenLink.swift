/// keysmith run as `ssh-keygen` (see OpenSSHLink).
enum SSHKeygenLink {
    /// ssh-keygen.c main's getopt string (OpenSSH 9.2).
    static let optionString = "ABHKLQUXceghiklopquvyC:D:E:F:I:M:N:O:P:R:V:Y:Z:a:b:f:g:m:n:r:s:t:w:z:"

    static func run(_ arguments: [String]) -> Int32 {
        guard let getopt = try? Getopt(arguments, optionString: Self.optionString), getopt.has("Y") else {
            return OpenSSHLink.notImplemented(.sshKeygen, "this command line")
        }
        return Self.signatureOperation(getopt)
    }
}
