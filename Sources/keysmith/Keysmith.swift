import ArgumentParser

@main
struct Keysmith: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keysmith",
        abstract: "Generate, inspect and convert SSH keys."
    )
}
