import ArgumentParser

/// `keysmith cert`: OpenSSH certificates (ssh-keygen -s, -L).
struct Cert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Sign and show OpenSSH certificates (ssh-keygen -s / -L).",
        discussion: """
            A certificate authority (CA) key signs a public key with a key ID, principals, a \
            validity interval and options; sshd trusts it through TrustedUserCAKeys or a \
            cert-authority line, ssh through an @cert-authority line in known_hosts. The \
            certificates keysmith writes are those ssh-keygen writes, and what it prints is what \
            ssh-keygen prints.
            """,
        subcommands: [CertSign.self, CertShow.self]
    )
}

extension Cert: CommandGroup {}
