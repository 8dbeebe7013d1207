import Foundation
import Hummingbird
import KeyVerify
import Logging
import NIOCore
import SSHKeys

/// Routes the service's four endpoints and answers everything else with a JSON 404 or 405.
struct ChallengeResponder: HTTPResponder {
    typealias Context = ChallengeRequestContext

    let state: ServiceState

    /// The routes and the methods each accepts.
    private static let routes: [String: HTTPRequest.Method] = [
        "/v1/challenges": .post, "/v1/verifications": .post, "/healthz": .get, "/metrics": .get,
    ]

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let path = request.uri.path
        let route = Self.routes[path] == nil ? "other" : path
        let response: Response
        do throws(ServiceFailure) {
            response = try await self.route(request, path: path, context: context)
        } catch {
            response = jsonError(error.status, error.message)
        }
        self.state.metrics.request(
            route: route,
            status: response.status.code,
            duration: ContinuousClock.now - started
        )
        return response
    }

    private func route(_ request: Request, path: String, context: Context) async throws(ServiceFailure) -> Response {
        guard let method = Self.routes[path] else {
            throw ServiceFailure(
                .notFound,
                "there is no \(path) here; the API is POST /v1/challenges and POST /v1/verifications"
            )
        }
        // HEAD is GET without the body, which Hummingbird leaves out.
        guard request.method == method || (method == .get && request.method == .head) else {
            var response = jsonError(.methodNotAllowed, "\(path) takes \(method.rawValue) only")
            response.headers[.allow] = method.rawValue
            return response
        }
        switch path {
        case "/v1/challenges": return try await self.issue(request)
        case "/v1/verifications": return try await self.verify(request, context: context)
        case "/healthz": return await self.health()
        default:
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: self.state.metrics.exposition()))
            )
        }
    }

    // MARK: Endpoints

    /// The token's lifetime in a challenge request.
    private struct IssueRequest: Decodable {
        var ttl: Int64?
    }

    private func issue(_ request: Request) async throws(ServiceFailure) -> Response {
        let body = try await self.body(of: request)
        var lifetime = self.state.defaultLifetime
        if body.readableBytes > 0 {
            guard let decoded = try? JSONDecoder().decode(IssueRequest.self, from: Data(buffer: body)) else {
                throw ServiceFailure(.badRequest, "the body is not a JSON object {\"ttl\": seconds}")
            }
            lifetime = decoded.ttl ?? lifetime
        }
        let token: ChallengeToken
        do throws(KeyVerifyError) {
            token = try self.state.verifier.issue(lifetime: lifetime)
        } catch {
            throw ServiceFailure(.badRequest, error.message)
        }
        return jsonResponse(
            .ok,
            [
                ("token", .string(token.text)), ("expiresAt", .int(Int(token.expiresAt))),
                ("audience", .string(token.audience)),
            ]
        )
    }

    /// A verification request.
    private struct VerifyRequest: Decodable {
        var token: String?
        var response: String?
        var from: String?
    }

    private func verify(_ request: Request, context: Context) async throws(ServiceFailure) -> Response {
        let peer = context.remoteAddress?.ipAddress
        var metadata: Logger.Metadata = ["peer": "\(peer ?? "unknown")"]
        // The response, once read: a refusal's log line names the key it claims.
        var responseText: String?
        do throws(ServiceFailure) {
            let body = try await self.body(of: request)
            guard let decoded = try? JSONDecoder().decode(VerifyRequest.self, from: Data(buffer: body)) else {
                throw ServiceFailure(
                    .badRequest,
                    "the body is not a JSON object {\"token\": string, \"response\": string, \"from\": address}"
                )
            }
            guard let token = decoded.token else { throw ServiceFailure(.badRequest, "the body has no token") }
            guard let response = decoded.response else { throw ServiceFailure(.badRequest, "the body has no response") }
            // The address a relying application saw its client at; else the TCP peer's.
            let address = decoded.from ?? peer
            if let from = decoded.from { metadata["from"] = "\(from)" }
            responseText = response
            let keys = try self.state.authorizedKeys.current()
            let revoked = try self.state.revokedKeys?.current()
            let result: ChallengeVerification
            do throws(KeyVerifyError) {
                result = try await self.state.verifier.verify(
                    token: token,
                    response: response,
                    authorizedKeys: keys,
                    in: self.state.store,
                    from: address,
                    user: self.state.user,
                    revokedKeys: revoked
                )
            } catch {
                throw self.refusal(error)
            }
            let fingerprint = result.fingerprint.description
            metadata["fingerprint"] = "\(fingerprint)"
            metadata["type"] = "\(result.key.type.sshName)"
            metadata["line"] = "\(result.entry.lineNumber)"
            if let comment = result.comment { metadata["comment"] = "\(comment)" }
            metadata["outcome"] = "accepted"
            self.state.metrics.verification(outcome: "accepted")
            self.state.logger.info("verification", metadata: metadata)
            return jsonResponse(
                .ok,
                [
                    ("fingerprint", .string(fingerprint)),
                    ("type", .string(result.key.type.sshName)),
                    ("comment", result.comment.map { .string($0) } ?? .null),
                    ("line", .int(result.entry.lineNumber)),
                ]
            )
        } catch {
            let outcome = Self.outcome(of: error)
            // Parsed again only for a refusal: an accepted answer's key comes with the result.
            if let responseText, let signature = try? SSHSIGSignature(armored: responseText) {
                metadata["fingerprint"] = "\(signature.publicKey.fingerprint())"
            }
            metadata["outcome"] = "\(outcome)"
            metadata["reason"] = "\(error.message)"
            self.state.metrics.verification(outcome: outcome)
            self.state.logger.info("verification", metadata: metadata)
            throw error
        }
    }

    private func health() async -> Response {
        do throws(KeyVerifyError) {
            try await self.state.store.checkAvailable()
            return jsonResponse(.ok, [("status", .string("ok"))])
        } catch {
            self.state.metrics.storeError()
            return jsonError(.serviceUnavailable, error.message)
        }
    }

    // MARK: Helpers

    /// The request's body, at most the configured size.
    private func body(of request: Request) async throws(ServiceFailure) -> ByteBuffer {
        let limit = self.state.maxBodySize
        let tooLarge = ServiceFailure(.contentTooLarge, "the request body is larger than \(limit) bytes")
        // A declared length over the limit is refused before any of the body is read.
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit { throw tooLarge }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw ServiceFailure(.badRequest, "the request body could not be read")
        }
    }

    /// The HTTP status of a refused verification, counting store failures.
    private func refusal(_ error: KeyVerifyError) -> ServiceFailure {
        let status: HTTPResponse.Status
        switch error.code {
        case .badSignature, .notAuthorized, .wrongNamespace: status = .unauthorized
        case .replayed: status = .conflict
        case .expired: status = .gone
        case .storeUnavailable, .stateError:
            // Nothing was accepted: the token may be tried again once the store answers.
            self.state.metrics.storeError()
            status = .serviceUnavailable
        default: status = .badRequest
        }
        return ServiceFailure(status, error.message, code: error.code)
    }

    /// A failure's name in the metrics and logs: `bad_signature`, `replayed`, `malformed_request`…
    private static func outcome(of failure: ServiceFailure) -> String {
        if let code = failure.code { return code.description.replacingOccurrences(of: " ", with: "_") }
        switch failure.status {
        case .badRequest: return "malformed_request"
        case .contentTooLarge: return "body_too_large"
        case .serviceUnavailable: return "unavailable"
        default: return "error"
        }
    }
}
