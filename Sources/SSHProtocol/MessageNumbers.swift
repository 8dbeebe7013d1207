/// Message numbers of the user authentication protocol (RFC 4252 §6, RFC 4256 §5).
///
/// Numbers 60 and 61 mean different things per method (PK_OK, PASSWD_CHANGEREQ,
/// INFO_REQUEST / INFO_RESPONSE), so the method in progress decides how to read them.
enum UserAuthMessage {
    static let serviceRequest: UInt8 = 5
    static let serviceAccept: UInt8 = 6
    static let request: UInt8 = 50
    static let failure: UInt8 = 51
    static let success: UInt8 = 52
    static let banner: UInt8 = 53
    /// SSH_MSG_USERAUTH_PK_OK, SSH_MSG_USERAUTH_PASSWD_CHANGEREQ, SSH_MSG_USERAUTH_INFO_REQUEST.
    static let methodSpecific60: UInt8 = 60
    /// SSH_MSG_USERAUTH_INFO_RESPONSE.
    static let infoResponse: UInt8 = 61
}

/// Message numbers of the connection protocol (RFC 4254 §9).
enum ConnectionMessage {
    static let globalRequest: UInt8 = 80
    static let requestSuccess: UInt8 = 81
    static let requestFailure: UInt8 = 82
    static let channelOpen: UInt8 = 90
    static let channelOpenConfirmation: UInt8 = 91
    static let channelOpenFailure: UInt8 = 92
    static let channelWindowAdjust: UInt8 = 93
    static let channelData: UInt8 = 94
    static let channelExtendedData: UInt8 = 95
    static let channelEOF: UInt8 = 96
    static let channelClose: UInt8 = 97
    static let channelRequest: UInt8 = 98
    static let channelSuccess: UInt8 = 99
    static let channelFailure: UInt8 = 100
}

/// Turns a wire-format error from a peer's message into a protocol violation naming the message.
func malformed(_ what: String) -> SSHProtocolError {
    SSHProtocolError(.protocolViolation, "the server sent a malformed \(what) message")
}
