public import SSHProtocol

extension SSHClient: RemoteCommandRunner {
    /// Runs `command` on a new session channel of this connection.
    public func run(_ command: String, stdin: [UInt8]) throws -> RemoteCommandResult {
        let r = try self.exec(command, stdin: stdin)
        return RemoteCommandResult(exitStatus: r.exitStatus, stdout: r.stdout, stderr: r.stderr)
    }

    /// Starts `command` on a new session channel with its input left open.
    public func start(_ command: String) throws -> (any RemoteCommandSession)? {
        SSHClientCommandSession(client: self, channel: try self.openStreamingExec(command))
    }
}

/// A command on one session channel of an ``SSHClient``.
struct SSHClientCommandSession: RemoteCommandSession {
    let client: SSHClient
    let channel: UInt32

    func receive() throws -> [UInt8] { try self.client.receiveFromExec(self.channel) }
    func send(_ bytes: [UInt8]) throws { try self.client.sendOnChannel(self.channel, bytes) }
    func finish() throws -> RemoteCommandResult {
        let r = try self.client.finishExec(self.channel)
        return RemoteCommandResult(exitStatus: r.exitStatus, stdout: r.stdout, stderr: r.stderr)
    }
}
