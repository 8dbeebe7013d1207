import ArgumentParser

@main
struct Keysmith: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keysmith",
        abstract: "Generate, inspect and convert SSH keys, byte-compatible with OpenSSH.",
        discussion: """
            Exit status: 0 on success, 1 on failure or refusal (wrong passphrase, \
            malformed file, file exists), 64 on a usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Generate.self,
            Public.self,
            Fingerprint.self,
            Passphrase.self,
            Comment.self,
            Convert.self,
            KnownHosts.self,
            Sign.self,
            Verify.self,
            FindPrincipals.self,
            CheckNoValidate.self,
            CopyID.self,
            RemoveID.self,
            ListIDs.self,
            Challenge.self,
            Serve.self,
        ]
    )
}
