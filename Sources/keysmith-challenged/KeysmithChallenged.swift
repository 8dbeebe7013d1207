import ArgumentParser

/// The challenge verification service, and `issue` and `verify` through any challenge
/// store. Apart from keysmith because it links SwiftNIO, whose start-up keysmith's own
/// commands must not pay; `keysmith challenge` runs it for a store it cannot open itself.
@main
struct KeysmithChallenged: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keysmith-challenged",
        abstract: "Serve challenge verification over HTTP, or issue and verify through a challenge store.",
        discussion: """
            serve answers POST /v1/challenges, POST /v1/verifications, GET /healthz and \
            GET /metrics (docs/challenge-service.md). issue and verify do what keysmith \
            challenge issue and verify do, with --state naming a state directory or a \
            postgres:// URL. Exit status: 0 on success; 1 on failure or refusal; 64 on a \
            usage error.
            """,
        version: "0.1.0",
        subcommands: [Serve.self, Issue.self, Verify.self]
    )
}
