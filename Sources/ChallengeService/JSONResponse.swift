import CommandLineText
import Hummingbird
import NIOCore

/// A response whose body is the JSON object of `members` (as keysmith's --json writes one:
/// members in the order given, no spaces), and a line feed.
func jsonResponse(_ status: HTTPResponse.Status, _ members: [(String, JSON)]) -> Response {
    Response(
        status: status,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: JSON.object(members).text + "\n"))
    )
}

/// `{"error": message}` with `status`.
func jsonError(_ status: HTTPResponse.Status, _ message: String) -> Response {
    jsonResponse(status, [("error", .string(message))])
}
