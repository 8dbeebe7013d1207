import ArgumentParser
import CommandLineText
import SSHCrypto
import SSHProtocol

struct AgentLock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Lock the agent with a password (ssh-add -x).",
        discussion: """
            Asks "Enter lock password: " and "Again: " (through SSH_ASKPASS or the terminal, as \
            ssh-add asks) and locks the agent: it lists no keys and signs nothing until it is \
            unlocked with the same password. "Agent locked." on standard error; "Passwords do \
            not match." or "Failed to lock agent: REASON" and exit status 1 otherwise.
            """
    )

    func run() throws {
        let agent = try connectToAgent()
        let password = askLockPassword("Enter lock password: ")
        guard askLockPassword("Again: ").constantTimeEquals(password) else {
            printError("Passwords do not match.")
            throw ExitCode(1)
        }
        try setAgentLock(agent, lock: true, password: password)
    }
}

struct AgentUnlock: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Unlock the agent (ssh-add -X).",
        discussion: """
            Asks "Enter lock password: " and unlocks the agent. "Agent unlocked." on standard \
            error; with a wrong password "Failed to unlock agent: agent refused operation" and \
            exit status 1, as ssh-add (the agent waits a little longer after each wrong password).
            """
    )

    func run() throws {
        let agent = try connectToAgent()
        try setAgentLock(agent, lock: false, password: askLockPassword("Enter lock password: "))
    }
}

/// The lock password, empty when nobody can be asked (the agent then refuses it, as it
/// refuses ssh-add's empty answer).
private func askLockPassword(_ prompt: String) -> SecureBytes {
    ((try? askSecret(prompt: prompt)) ?? nil) ?? SecureBytes(count: 0)
}

private func setAgentLock(_ agent: SSHAgentClient, lock: Bool, password: SecureBytes) throws {
    let verb = lock ? "lock" : "unlock"
    do {
        try agent.setLocked(lock, password: password)
    } catch {
        printError("Failed to \(verb) agent: \(agentErrorText(error))")
        throw ExitCode(1)
    }
    printError("Agent \(verb)ed.")
}
