public import SSHProtocol

extension SSHClient: RemoteCommandRunner {
    /// Runs `command` on a new session channel of this connection.
    public func run(_ command: String, stdin: [UInt8]) throws -> RemoteCommandResult {
        let r = try self.exec(command, stdin: stdin)
        return RemoteCommandResult(exitStatus: r.exitStatus, stdout: r.stdout, stderr: r.stderr)
    }
}
