import SSHKeys

/// SFTP version 3 packet types and constants (draft-ietf-secsh-filexfer-02 §3, §7).
enum SFTPMessage {
    static let initialize: UInt8 = 1
    static let version: UInt8 = 2
    static let open: UInt8 = 3
    static let close: UInt8 = 4
    static let read: UInt8 = 5
    static let write: UInt8 = 6
    static let lstat: UInt8 = 7
    static let setstat: UInt8 = 9
    static let opendir: UInt8 = 11
    static let readdir: UInt8 = 12
    static let remove: UInt8 = 13
    static let mkdir: UInt8 = 14
    static let rmdir: UInt8 = 15
    static let realpath: UInt8 = 16
    static let stat: UInt8 = 17
    static let rename: UInt8 = 18
    static let status: UInt8 = 101
    static let handle: UInt8 = 102
    static let data: UInt8 = 103
    static let name: UInt8 = 104
    static let attrs: UInt8 = 105
    static let extended: UInt8 = 200
    static let extendedReply: UInt8 = 201
}

/// SSH_FX_* status codes (draft-ietf-secsh-filexfer-02 §7).
enum SFTPStatus {
    static let ok: UInt32 = 0
    static let eof: UInt32 = 1
    static let noSuchFile: UInt32 = 2
    static let permissionDenied: UInt32 = 3
    static let failure: UInt32 = 4
    static let badMessage: UInt32 = 5
    static let noConnection: UInt32 = 6
    static let connectionLost: UInt32 = 7
    static let unsupported: UInt32 = 8

    static func describe(_ code: UInt32) -> String {
        switch code {
        case eof: "end of file"
        case noSuchFile: "no such file"
        case permissionDenied: "permission denied"
        case failure: "failure"
        case badMessage: "bad message"
        case noConnection: "no connection"
        case connectionLost: "connection lost"
        case unsupported: "operation unsupported"
        default: "status \(code)"
        }
    }
}

/// A file's attributes as SFTP v3 carries them; nil fields were not sent.
///
/// draft-ietf-secsh-filexfer-02 §5: uint32 flags, then uint64 size (SSH_FILEXFER_ATTR_SIZE,
/// 0x1), uint32 uid and gid (UIDGID, 0x2), uint32 permissions (PERMISSIONS, 0x4), uint32
/// atime and mtime (ACMODTIME, 0x8), and uint32 count with that many string pairs
/// (EXTENDED, 0x80000000), each present only when its flag is set.
public struct SFTPAttributes: Sendable, Hashable {
    public var size: UInt64?
    public var uid: UInt32?
    public var gid: UInt32?
    /// The st_mode bits: file type and permissions.
    public var permissions: UInt32?
    public var accessTime: UInt32?
    public var modificationTime: UInt32?

    public init(
        size: UInt64? = nil,
        uid: UInt32? = nil,
        gid: UInt32? = nil,
        permissions: UInt32? = nil,
        accessTime: UInt32? = nil,
        modificationTime: UInt32? = nil
    ) {
        self.size = size
        self.uid = uid
        self.gid = gid
        self.permissions = permissions
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }

    /// Whether the mode says directory (S_IFDIR).
    public var isDirectory: Bool { (self.permissions ?? 0) & 0o170000 == 0o040000 }

    /// The mode as `ls -l` prints it, e.g. `drwx------` (`?` for an unknown type).
    public var modeString: String {
        let mode = self.permissions ?? 0
        let type: Character =
            switch mode & 0o170000 {
            case 0o040000: "d"
            case 0o100000: "-"
            case 0o120000: "l"
            case 0o020000: "c"
            case 0o060000: "b"
            case 0o010000: "p"
            case 0o140000: "s"
            default: "?"
            }
        var out = String(type)
        let special: [(UInt32, Character, Character)] = [(0o4000, "s", "S"), (0o2000, "s", "S"), (0o1000, "t", "T")]
        for who in 0..<3 {
            let bits = (mode >> UInt32(6 - 3 * who)) & 7
            out.append(bits & 4 != 0 ? "r" : "-")
            out.append(bits & 2 != 0 ? "w" : "-")
            let (flag, set, unset) = special[who]
            if mode & flag != 0 {
                out.append(bits & 1 != 0 ? set : unset)
            } else {
                out.append(bits & 1 != 0 ? "x" : "-")
            }
        }
        return out
    }

    static let sizeFlag: UInt32 = 0x1
    static let uidGIDFlag: UInt32 = 0x2
    static let permissionsFlag: UInt32 = 0x4
    static let timesFlag: UInt32 = 0x8
    static let extendedFlag: UInt32 = 0x8000_0000

    func write(to w: inout SSHWireWriter) {
        var flags: UInt32 = 0
        if self.size != nil { flags |= Self.sizeFlag }
        if self.uid != nil && self.gid != nil { flags |= Self.uidGIDFlag }
        if self.permissions != nil { flags |= Self.permissionsFlag }
        if self.accessTime != nil && self.modificationTime != nil { flags |= Self.timesFlag }
        w.writeUInt32(flags)
        if let size = self.size { w.writeUInt64(size) }
        if let uid = self.uid, let gid = self.gid {
            w.writeUInt32(uid)
            w.writeUInt32(gid)
        }
        if let permissions = self.permissions { w.writeUInt32(permissions) }
        if let a = self.accessTime, let m = self.modificationTime {
            w.writeUInt32(a)
            w.writeUInt32(m)
        }
    }

    static func read(from r: inout SSHWireReader) throws(SSHKeyError) -> SFTPAttributes {
        let flags = try r.readUInt32()
        var a = SFTPAttributes()
        if flags & Self.sizeFlag != 0 { a.size = try r.readUInt64() }
        if flags & Self.uidGIDFlag != 0 {
            a.uid = try r.readUInt32()
            a.gid = try r.readUInt32()
        }
        if flags & Self.permissionsFlag != 0 { a.permissions = try r.readUInt32() }
        if flags & Self.timesFlag != 0 {
            a.accessTime = try r.readUInt32()
            a.modificationTime = try r.readUInt32()
        }
        if flags & Self.extendedFlag != 0 {
            let count = try r.readUInt32()
            for _ in 0..<count {
                _ = try r.readString()
                _ = try r.readString()
            }
        }
        return a
    }
}

/// Splits a byte stream into SFTP packets: uint32 length, then that many bytes
/// (byte type, payload) — draft-ietf-secsh-filexfer-02 §3.
struct SFTPPacketReader {
    /// The largest packet accepted (OpenSSH's sftp-server uses the same bound, 256 KiB).
    static let maximumLength = 256 * 1024

    private var buffer: [UInt8] = []

    mutating func append(_ bytes: [UInt8]) { self.buffer += bytes }

    /// The next whole packet (type byte first), nil when more bytes are needed.
    /// - Throws: a reason when the length is zero or over ``maximumLength``.
    mutating func next() throws(SSHProtocolError) -> [UInt8]? {
        guard self.buffer.count >= 4 else { return nil }
        let length = self.buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= Self.maximumLength else {
            throw SSHProtocolError(
                .protocolViolation,
                "the SFTP server sent a packet of \(length) bytes (the limit is \(Self.maximumLength))"
            )
        }
        guard self.buffer.count >= 4 + length else { return nil }
        let packet = Array(self.buffer[4..<4 + length])
        self.buffer.removeFirst(4 + length)
        return packet
    }
}

extension SSHWireWriter {
    mutating func writeUInt64(_ v: UInt64) {
        self.writeUInt32(UInt32(truncatingIfNeeded: v >> 32))
        self.writeUInt32(UInt32(truncatingIfNeeded: v))
    }
}

extension SSHWireReader {
    mutating func readUInt64() throws(SSHKeyError) -> UInt64 {
        let high = UInt64(try self.readUInt32())
        return high << 32 | UInt64(try self.readUInt32())
    }
}
