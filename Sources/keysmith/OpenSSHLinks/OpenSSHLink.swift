import ArgumentParser

#if canImport(Glibc)
import CommandLineText
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The OpenSSH tools keysmith stands in for when its binary is run through a link of that
/// tool's name (`make install LINKS=1` makes them in `$(PREFIX)/libexec/keysmith/openssh/`,
/// never over the system's own tools). Through a link keysmith reads that tool's command line,
/// not its own, and answers as the tool does: the same output, prompts and exit statuses. An
/// operation keysmith does not implement is refused in one sentence with exit status 1; it
/// never falls through to another meaning.
enum OpenSSHLink: String, CaseIterable {
    case sshKeygen = "ssh-keygen"
    case sshCopyID = "ssh-copy-id"
    case sshAdd = "ssh-add"

    /// The tool a program path names (its last component), or nil for any other name, such
    /// as `keysmith` itself.
    init?(programPath: String) {
        let name = programPath.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        self.init(rawValue: name)
    }

    /// Runs the tool's command line (`arguments` without the program name) and returns the
    /// exit status.
    func run(_ arguments: [String]) -> Int32 {
        switch self {
        case .sshKeygen: SSHKeygenLink.run(arguments)
        case .sshCopyID: SSHCopyIDLink.run(arguments)
        case .sshAdd: SSHAddLink.run(arguments)
        }
    }

    /// Runs the tool's command line and exits with its status.
    func runAndExit(_ arguments: [String]) -> Never {
        exit(self.run(arguments))
    }

    /// The exit status of a link's work: 0, an `ExitCode`'s own value, or 1 for any other
    /// failure (the work has already said why).
    static func exitStatus(_ body: () throws -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            return 1
        }
    }

    /// Refuses an operation keysmith does not implement: one sentence, exit status 1.
    static func notImplemented(_ tool: OpenSSHLink, _ operation: String) -> Int32 {
        let name = tool.rawValue
        printError("\(name) (keysmith): \(operation) is not implemented by keysmith; use OpenSSH's \(name).")
        return 1
    }
}
