/// What a connection tells the person at the keyboard, as the caller shows it.
///
/// keysmith writes diagnostics as lines on stderr and escapes a server's text as ssh's
/// mprintf would; a library user can collect them instead.
public struct ConnectionEvents: Sendable {
    /// One line for stderr (a skipped identity file, a verbose line, a host key notice).
    public var diagnostic: @Sendable (String) -> Void
    /// Makes text that came from a server safe to show on a terminal (multiline allowed).
    public var escapePeerText: @Sendable (String) -> String
    /// Runs a step that may be slow (a passphrase's key derivation) under a progress indicator.
    public var slowStep: @Sendable (String, () -> Void) -> Void

    public init(
        diagnostic: @escaping @Sendable (String) -> Void = { _ in },
        escapePeerText: @escaping @Sendable (String) -> String = { $0 },
        slowStep: @escaping @Sendable (String, () -> Void) -> Void = { _, body in body() }
    ) {
        self.diagnostic = diagnostic
        self.escapePeerText = escapePeerText
        self.slowStep = slowStep
    }
}
