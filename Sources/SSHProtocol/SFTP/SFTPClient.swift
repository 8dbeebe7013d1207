import SSHKeys

/// An SFTP version 3 client (draft-ietf-secsh-filexfer-02) on a session channel of an
/// ``SSHClient`` running the `sftp` subsystem, with OpenSSH's `posix-rename@openssh.com` and
/// `fsync@openssh.com` extensions (OpenSSH PROTOCOL §4).
///
/// Requests are sent one at a time and each waits for its reply. Relative paths are
/// resolved by the server (OpenSSH's sftp-server starts in the home directory). A STATUS
/// reply other than OK becomes an `SSHProtocolError` (`.channelFailure`) whose one sentence
/// names the operation, the path and the server's reason; the calls whose missing file is an
/// ordinary answer (``stat(_:)``, ``lstat(_:)``, ``readFile(_:maximumSize:)``) return nil instead.
///
/// Not `Sendable`: it drives the connection, which is used from one thread at a time.
public final class SFTPClient {
    /// The largest READ or WRITE payload sent or asked for (OpenSSH's sftp client default).
    public static let chunkSize = 32 * 1024

    private let client: SSHClient
    private let channel: UInt32
    private var packets = SFTPPacketReader()
    private var nextID: UInt32 = 0
    private var isClosed = false

    /// The protocol version the server answered (3 for OpenSSH).
    public let version: UInt32
    /// The extensions the server announced in VERSION, name → version string.
    public let extensions: [String: String]

    /// Opens the `sftp` subsystem on `client` and exchanges INIT / VERSION.
    /// - Throws: `SSHProtocolError` when the server refuses the subsystem or answers badly.
    public init(over client: SSHClient) throws(SSHProtocolError) {
        self.client = client
        self.channel = try client.openSubsystem("sftp")
        // §4: uint32 version, then (for VERSION) extension-pair name/data strings.
        var w = SSHWireWriter()
        w.writeByte(SFTPMessage.initialize)
        w.writeUInt32(3)
        try client.sendOnChannel(self.channel, Self.framed(w.bytes))
        var packets = SFTPPacketReader()
        let reply = try Self.nextPacket(client, self.channel, &packets, "during the SFTP handshake")
        self.packets = packets
        var r = SSHWireReader(reply.dropFirst())
        var extensions: [String: String] = [:]
        do {
            guard reply.first == SFTPMessage.version else {
                throw SSHProtocolError(.protocolViolation, "the SFTP server answered INIT with message \(reply[0])")
            }
            self.version = try r.readUInt32()
            while !r.isAtEnd {
                let name = String(decoding: try r.readString(), as: UTF8.self)
                extensions[name] = String(decoding: try r.readString(), as: UTF8.self)
            }
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw SSHProtocolError(.protocolViolation, "the SFTP server sent a malformed VERSION")
        }
        guard self.version >= 3 else {
            throw SSHProtocolError(.protocolViolation, "the SFTP server speaks version \(self.version), not 3")
        }
        self.extensions = extensions
    }

    deinit {
        if !self.isClosed { try? self.client.closeChannel(self.channel) }
    }

    /// Closes the SFTP channel (the connection stays open).
    public func close() throws(SSHProtocolError) {
        guard !self.isClosed else { return }
        self.isClosed = true
        try self.client.closeChannel(self.channel)
    }

    /// Whether the server announced `name` (e.g. `fsync@openssh.com`) with version `version`.
    public func supports(_ name: String, version: String = "1") -> Bool { self.extensions[name] == version }

    // MARK: Paths and attributes

    /// REALPATH: the canonical absolute form of `path` (`.` is the starting directory).
    public func realPath(_ path: String) throws(SSHProtocolError) -> String {
        let reply = try self.request(SFTPMessage.realpath, "resolve", path) { $0.writeString(path) }
        // §7: uint32 count, then count × (string filename, string longname, ATTRS).
        return try self.parse(reply, expecting: SFTPMessage.name, "resolve", path) { r in
            guard try r.readUInt32() == 1 else { throw SSHKeyError(.invalidFormat, "REALPATH count") }
            return String(decoding: try r.readString(), as: UTF8.self)
        }
    }

    /// STAT (follows symbolic links); nil when there is no such file.
    public func stat(_ path: String) throws(SSHProtocolError) -> SFTPAttributes? {
        try self.attributes(SFTPMessage.stat, path)
    }

    /// LSTAT (does not follow a final symbolic link); nil when there is no such file.
    public func lstat(_ path: String) throws(SSHProtocolError) -> SFTPAttributes? {
        try self.attributes(SFTPMessage.lstat, path)
    }

    /// SETSTAT with only the permission bits: chmod.
    public func setPermissions(_ path: String, _ permissions: UInt32) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.setstat, "change the mode of", path) { w in
            w.writeString(path)
            SFTPAttributes(permissions: permissions).write(to: &w)
        }
    }

    /// MKDIR with the given permission bits.
    public func makeDirectory(_ path: String, permissions: UInt32) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.mkdir, "create the directory", path) { w in
            w.writeString(path)
            SFTPAttributes(permissions: permissions).write(to: &w)
        }
    }

    /// RMDIR.
    public func removeDirectory(_ path: String) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.rmdir, "remove the directory", path) { $0.writeString(path) }
    }

    /// REMOVE (a file).
    public func remove(_ path: String) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.remove, "remove", path) { $0.writeString(path) }
    }

    /// Renames `old` to `new`, replacing `new` atomically when it exists: OpenSSH's
    /// `posix-rename@openssh.com` (PROTOCOL §4.3: string oldpath, string newpath).
    /// - Throws: `.channelFailure` when the server lacks the extension.
    public func posixRename(_ old: String, to new: String) throws(SSHProtocolError) {
        guard self.supports("posix-rename@openssh.com") else {
            throw SSHProtocolError(
                .channelFailure,
                "the SFTP server cannot replace \(new) atomically (it lacks posix-rename@openssh.com)"
            )
        }
        try self.expectOK(SFTPMessage.extended, "rename \(old) to", new) { w in
            w.writeString("posix-rename@openssh.com")
            w.writeString(old)
            w.writeString(new)
        }
    }

    /// RENAME as draft-02 defines it (fails when `new` exists on OpenSSH).
    public func rename(_ old: String, to new: String) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.rename, "rename \(old) to", new) { w in
            w.writeString(old)
            w.writeString(new)
        }
    }

    /// The names in the directory `path` (without `.` and `..`): OPENDIR, then READDIR until
    /// EOF (§6.7: each NAME reply carries uint32 count, then count × (string filename,
    /// string longname, ATTRS)), then CLOSE. At most `maximumCount` names are read.
    public func listDirectory(_ path: String, maximumCount: Int = 100_000) throws(SSHProtocolError) -> [String] {
        let reply = try self.request(SFTPMessage.opendir, "list", path) { $0.writeString(path) }
        let handle = try self.parse(reply, expecting: SFTPMessage.handle, "list", path) { r in
            let handle = try r.readString()
            guard handle.count <= 256 else { throw SSHKeyError(.invalidFormat, "handle") }
            return Handle(bytes: Array(handle), path: path)
        }
        var names: [String] = []
        do throws(SSHProtocolError) {
            while true {
                let reply = try self.request(SFTPMessage.readdir, "list", path, allowEOF: true) { w in
                    w.writeString(handle.bytes)
                }
                if reply.first == SFTPMessage.status { break }
                let batch = try self.parse(reply, expecting: SFTPMessage.name, "list", path) { r in
                    let count = try r.readUInt32()
                    var batch: [String] = []
                    for _ in 0..<count {
                        batch.append(String(decoding: try r.readString(), as: UTF8.self))
                        _ = try r.readString()
                        _ = try SFTPAttributes.read(from: &r)
                    }
                    return batch
                }
                names += batch.filter { $0 != "." && $0 != ".." }
                guard names.count <= maximumCount else {
                    throw SSHProtocolError(
                        .channelFailure,
                        "\(path) on the server holds more than \(maximumCount) names"
                    )
                }
            }
        } catch {
            try? self.close(handle)
            throw error
        }
        try self.close(handle)
        return names
    }

    // MARK: Files

    /// OPEN flags (SSH_FXF_*, draft-ietf-secsh-filexfer-02 §6.3).
    public struct OpenFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let read = OpenFlags(rawValue: 0x01)
        public static let write = OpenFlags(rawValue: 0x02)
        public static let append = OpenFlags(rawValue: 0x04)
        public static let create = OpenFlags(rawValue: 0x08)
        public static let truncate = OpenFlags(rawValue: 0x10)
        public static let exclusive = OpenFlags(rawValue: 0x20)
    }

    /// An open file on the server.
    public struct Handle: Sendable {
        fileprivate let bytes: [UInt8]
        /// The path it was opened with, for messages.
        public let path: String
    }

    /// OPEN: uint32 pflags, ATTRS (permissions for a created file).
    public func open(_ path: String, flags: OpenFlags, permissions: UInt32? = nil) throws(SSHProtocolError) -> Handle {
        let reply = try self.request(SFTPMessage.open, "open", path) { w in
            w.writeString(path)
            w.writeUInt32(flags.rawValue)
            SFTPAttributes(permissions: permissions).write(to: &w)
        }
        let bytes = try self.parse(reply, expecting: SFTPMessage.handle, "open", path) { r in
            let handle = try r.readString()
            // §7: handles are at most 256 bytes.
            guard handle.count <= 256 else { throw SSHKeyError(.invalidFormat, "handle") }
            return Array(handle)
        }
        return Handle(bytes: bytes, path: path)
    }

    /// READ up to `length` bytes at `offset`; nil at end of file.
    public func read(_ handle: Handle, offset: UInt64, length: Int) throws(SSHProtocolError) -> [UInt8]? {
        let length = min(length, Self.chunkSize)
        let reply = try self.request(SFTPMessage.read, "read", handle.path, allowEOF: true) { w in
            w.writeString(handle.bytes)
            w.writeUInt64(offset)
            w.writeUInt32(UInt32(length))
        }
        if reply.first == SFTPMessage.status { return nil }
        return try self.parse(reply, expecting: SFTPMessage.data, "read", handle.path) { r in
            let data = try r.readString()
            guard data.count <= length else { throw SSHKeyError(.invalidFormat, "DATA longer than asked") }
            return Array(data)
        }
    }

    /// WRITE `data` at `offset`, in chunks of at most ``chunkSize``.
    public func write(_ handle: Handle, offset: UInt64, _ data: [UInt8]) throws(SSHProtocolError) {
        var position = 0
        repeat {
            let end = min(position + Self.chunkSize, data.count)
            try self.expectOK(SFTPMessage.write, "write", handle.path) { w in
                w.writeString(handle.bytes)
                w.writeUInt64(offset + UInt64(position))
                w.writeString(data[position..<end])
            }
            position = end
        } while position < data.count
    }

    /// `fsync@openssh.com` (PROTOCOL §4.6: string handle); false when the server lacks it.
    @discardableResult
    public func fsync(_ handle: Handle) throws(SSHProtocolError) -> Bool {
        guard self.supports("fsync@openssh.com") else { return false }
        try self.expectOK(SFTPMessage.extended, "flush", handle.path) { w in
            w.writeString("fsync@openssh.com")
            w.writeString(handle.bytes)
        }
        return true
    }

    /// CLOSE a handle.
    public func close(_ handle: Handle) throws(SSHProtocolError) {
        try self.expectOK(SFTPMessage.close, "close", handle.path) { $0.writeString(handle.bytes) }
    }

    /// The whole file, or nil when it does not exist.
    /// - Throws: when it is larger than `maximumSize` or cannot be read.
    public func readFile(_ path: String, maximumSize: Int = 16 * 1024 * 1024) throws(SSHProtocolError) -> [UInt8]? {
        let handle: Handle
        do {
            handle = try self.open(path, flags: .read)
        } catch let error where self.lastStatus == SFTPStatus.noSuchFile {
            _ = error
            return nil
        }
        var contents: [UInt8] = []
        do throws(SSHProtocolError) {
            while let chunk = try self.read(handle, offset: UInt64(contents.count), length: Self.chunkSize) {
                contents += chunk
                guard contents.count <= maximumSize else {
                    throw SSHProtocolError(
                        .channelFailure,
                        "\(path) on the server is larger than \(maximumSize >> 20) MiB"
                    )
                }
            }
        } catch {
            try? self.close(handle)
            throw error
        }
        try self.close(handle)
        return contents
    }

    // MARK: Requests

    /// The status code of the last STATUS reply (OK when the last reply was not a STATUS).
    public private(set) var lastStatus: UInt32 = SFTPStatus.ok

    private func attributes(_ type: UInt8, _ path: String) throws(SSHProtocolError) -> SFTPAttributes? {
        let reply: [UInt8]
        do {
            reply = try self.request(type, "look up", path) { $0.writeString(path) }
        } catch let error where self.lastStatus == SFTPStatus.noSuchFile {
            _ = error
            return nil
        }
        return try self.parse(reply, expecting: SFTPMessage.attrs, "look up", path) { r in
            try SFTPAttributes.read(from: &r)
        }
    }

    private func expectOK(
        _ type: UInt8,
        _ what: String,
        _ path: String,
        _ body: (inout SSHWireWriter) -> Void
    ) throws(SSHProtocolError) {
        let reply = try self.request(type, what, path, body)
        guard reply.first == SFTPMessage.status else {
            throw SSHProtocolError(
                .protocolViolation,
                "the SFTP server answered a request to \(what) \(path) with message \(reply[0])"
            )
        }
    }

    /// Sends one request and returns its reply (type byte first, id removed). A STATUS
    /// other than OK (or EOF when `allowEOF`) is thrown as a sentence.
    private func request(
        _ type: UInt8,
        _ what: String,
        _ path: String,
        allowEOF: Bool = false,
        _ body: (inout SSHWireWriter) -> Void
    ) throws(SSHProtocolError) -> [UInt8] {
        guard !self.isClosed else { throw SSHProtocolError(.channelFailure, "the SFTP channel is closed") }
        let id = self.nextID
        self.nextID &+= 1
        // §3: uint32 length, byte type, uint32 request-id, type-specific data.
        var w = SSHWireWriter()
        w.writeByte(type)
        w.writeUInt32(id)
        body(&w)
        try self.client.sendOnChannel(self.channel, Self.framed(w.bytes))
        let reply = try Self.nextPacket(self.client, self.channel, &self.packets, "while waiting for an SFTP reply")
        var r = SSHWireReader(reply.dropFirst())
        guard reply.count >= 5, (try? r.readUInt32()) == id else {
            throw SSHProtocolError(.protocolViolation, "the SFTP server answered out of order")
        }
        let body = [reply[0]] + Array(reply[5...])
        self.lastStatus = SFTPStatus.ok
        if reply[0] == SFTPMessage.status {
            // §7: uint32 error/status code, string error message, string language tag.
            var s = SSHWireReader(reply[5...])
            guard let code = try? s.readUInt32() else {
                throw SSHProtocolError(.protocolViolation, "the SFTP server sent a malformed STATUS")
            }
            let message = (try? s.readString()).map(printableText) ?? ""
            self.lastStatus = code
            if code == SFTPStatus.ok || (allowEOF && code == SFTPStatus.eof) { return body }
            let reason = message.isEmpty ? SFTPStatus.describe(code) : message.lowercasedFirst
            throw SSHProtocolError(.channelFailure, "the SFTP server could not \(what) \(path): \(reason)")
        }
        return body
    }

    private func parse<T>(
        _ reply: [UInt8],
        expecting type: UInt8,
        _ what: String,
        _ path: String,
        _ body: (inout SSHWireReader) throws -> T
    ) throws(SSHProtocolError) -> T {
        guard reply.first == type else {
            throw SSHProtocolError(
                .protocolViolation,
                "the SFTP server answered a request to \(what) \(path) with message \(reply.first ?? 0)"
            )
        }
        var r = SSHWireReader(reply.dropFirst())
        do {
            return try body(&r)
        } catch {
            throw SSHProtocolError(.protocolViolation, "the SFTP server sent a malformed reply to \(what) \(path)")
        }
    }

    private static func framed(_ packet: [UInt8]) -> [UInt8] {
        var w = SSHWireWriter()
        w.writeString(packet)
        return w.bytes
    }

    private static func nextPacket(
        _ client: SSHClient,
        _ channel: UInt32,
        _ packets: inout SFTPPacketReader,
        _ activity: String
    ) throws(SSHProtocolError) -> [UInt8] {
        while true {
            if let packet = try packets.next() { return packet }
            packets.append(try client.receiveOnChannel(channel, activity))
        }
    }
}

extension String {
    /// `No such file` → `no such file`; an acronym (`EOF`) stays.
    fileprivate var lowercasedFirst: String {
        guard let first = self.first, self.dropFirst().first?.isUppercase != true else { return self }
        return first.lowercased() + self.dropFirst()
    }
}
