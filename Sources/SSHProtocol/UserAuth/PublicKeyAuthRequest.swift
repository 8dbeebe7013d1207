import SSHKeys

/// RFC 4252 §7's signed publickey request, the one layout both roles build: the client to
/// sign and send it, the server (as sshd's auth2-pubkey.c) to verify it.
enum PublicKeyAuthRequest {
    /// The request up to the public key blob, with the boolean TRUE; the client sends it
    /// followed by `string signature`:
    ///
    /// ```
    /// byte      SSH_MSG_USERAUTH_REQUEST
    /// string    user name
    /// string    service name
    /// string    "publickey"
    /// boolean   TRUE
    /// string    public key algorithm name
    /// string    public key to be used for authentication
    /// ```
    static func signedRequest(
        user: some Collection<UInt8>,
        service: some Collection<UInt8>,
        algorithm: some Collection<UInt8>,
        publicKeyBlob: some Collection<UInt8>
    ) -> [UInt8] {
        var w = SSHWireWriter(capacity: 512)
        w.writeByte(UserAuthMessage.request)
        w.writeString(user)
        w.writeString(service)
        w.writeString("publickey")
        w.writeByte(1)
        w.writeString(algorithm)
        w.writeString(publicKeyBlob)
        return w.bytes
    }

    /// What the signature covers: `string session identifier`, then ``signedRequest(user:service:algorithm:publicKeyBlob:)``.
    static func signedData(sessionID: [UInt8], request: [UInt8]) -> [UInt8] {
        var w = SSHWireWriter(capacity: request.count + sessionID.count + 4)
        w.writeString(sessionID)
        w.writeBytes(request)
        return w.bytes
    }
}
