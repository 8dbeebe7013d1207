public import SSHKeys

/// Replaces an old key by a new one in one account's authorized_keys without ever locking
/// the account out: the new key is installed, then proven by a fresh login with it, and
/// only then is the old key removed.
///
/// Whatever step fails, the old key is still there when ``rotate(newKey:comment:options:oldKeys:store:proveLogin:)``
/// returns; a new key that could not log in is taken out again (unless it was there before).
public enum KeyRotation {
    /// A step of a rotation.
    public struct Step: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Reading the authorized_keys file.
        public static let read = Step("read the authorized keys")
        /// Adding the new key.
        public static let install = Step("install the new key")
        /// Logging in with the new key over a new connection.
        public static let proveLogin = Step("log in with the new key")
        /// Removing the old key.
        public static let removeOld = Step("remove the old key")

        public var description: String { self.name }
    }

    /// What a rotation did on one account.
    public struct Report: Sendable {
        /// The line installed for the new key (with the options it carries).
        public var newLine: String = ""
        /// The options of `newLine` (the old key's, or those given), nil when it has none.
        public var newKeyOptions: String?
        /// Whether the new key was added (false: it was there already, or a step before failed).
        public var newKeyAdded = false
        /// Whether the new key was there before the rotation.
        public var newKeyWasPresent = false
        /// The old key's lines that were removed, with their line numbers as read.
        public var removed: [(line: Int, text: String)] = []
        /// The old keys that were not in the file.
        public var oldKeysNotFound: [SSHPublicKey] = []
        /// The step that failed, nil when the rotation is complete.
        public var failedStep: Step?
        /// Why that step failed.
        public var failure: (any Error)?
        /// Whether a new key that could not log in was taken out again.
        public var newKeyTakenOut = false
        /// Why taking it out failed, when it did (the new key is still installed then).
        public var takeOutFailure: (any Error)?

        /// Whether every step succeeded: the new key logs in and the old one is gone.
        public var succeeded: Bool { self.failedStep == nil }
    }

    /// What ``rotate(newKey:comment:options:oldKeys:store:proveLogin:)`` would do on one
    /// account, changing nothing and logging in with nothing: the line it would install
    /// (`newLine`, `newKeyWasPresent`), and the old key's lines it would remove after the
    /// proof (`removed`, `oldKeysNotFound`). `newKeyAdded` stays false; `failedStep` is
    /// `.read` when the file cannot be read.
    public static func plan(
        newKey: SSHPublicKey,
        comment: String?,
        options: String?,
        oldKeys: [SSHPublicKey],
        store: some AuthorizedKeysStore
    ) -> Report {
        var report = Report()
        do {
            let listed = try store.list()
            report = Self.start(newKey: newKey, comment: comment, options: options, oldKeys: oldKeys, in: listed)
            let removal = try store.remove(keys: oldKeys, dryRun: true)
            report.removed = removal.removed
            report.oldKeysNotFound = removal.notFound
        } catch {
            report.failedStep = .read
            report.failure = error
        }
        return report
    }

    /// A report of a rotation that has read `listed`: whether `newKey` is there, and the
    /// line to install for it (``newLine(for:comment:options:oldKeys:in:)``).
    static func start(
        newKey: SSHPublicKey,
        comment: String?,
        options: String?,
        oldKeys: [SSHPublicKey],
        in listed: [KeyDeploy.ListedKey]
    ) -> Report {
        var report = Report()
        report.newKeyWasPresent = listed.contains { $0.key == newKey }
        (report.newLine, report.newKeyOptions) = Self.newLine(
            for: newKey,
            comment: comment,
            options: options,
            oldKeys: oldKeys,
            in: listed
        )
        return report
    }

    /// The line to install for `newKey`, and its options: `options`, or those of the first
    /// line carrying one of `oldKeys` when `options` is nil (a restricted key stays as restricted).
    static func newLine(
        for newKey: SSHPublicKey,
        comment: String?,
        options: String?,
        oldKeys: [SSHPublicKey],
        in listed: [KeyDeploy.ListedKey]
    ) -> (line: String, options: String?) {
        let oldBlobs = Set(oldKeys.map(\.wireBlob))
        let inherited = listed.first { oldBlobs.contains($0.key.wireBlob) }?.options
        let chosen = (options ?? inherited).flatMap { $0.isEmpty ? nil : $0 }
        return (AuthorizedKeys.line(for: newKey, comment: comment, options: chosen), chosen)
    }

    /// Rotates one account from `oldKeys` to `newKey`.
    ///
    /// 1. Reads the file; with `options` nil the new key takes the options of the first
    ///    line carrying an old key (so a restricted key stays as restricted).
    /// 2. Adds the new key's line (a key already present is kept as it is).
    /// 3. Calls `proveLogin`, which must log in with the new key's private half over a new
    ///    connection (publickey only, that key only) and throw when it cannot. If it throws,
    ///    a new key added in step 2 is removed again and the old key stays.
    /// 4. Removes every line carrying one of `oldKeys`.
    ///
    /// - Parameters:
    ///   - newKey: the new public key; `comment` is written after it.
    ///   - options: authorized_keys options for the new line; nil inherits the old key's.
    ///   - oldKeys: the keys to retire (must not contain `newKey`).
    ///   - store: the account's authorized_keys.
    ///   - proveLogin: the proof that the new key logs in.
    /// - Returns: what happened; never throws, since a failure has to say what is left where.
    public static func rotate(
        newKey: SSHPublicKey,
        comment: String?,
        options: String?,
        oldKeys: [SSHPublicKey],
        store: some AuthorizedKeysStore,
        proveLogin: () throws -> Void
    ) -> Report {
        var report = Report()
        let listed: [KeyDeploy.ListedKey]
        do {
            listed = try store.list()
        } catch {
            report.failedStep = .read
            report.failure = error
            return report
        }
        report = Self.start(newKey: newKey, comment: comment, options: options, oldKeys: oldKeys, in: listed)

        do {
            let copied = try store.copy(lines: [report.newLine])
            report.newKeyAdded = !copied.added.isEmpty
        } catch {
            report.failedStep = .install
            report.failure = error
            return report
        }

        do {
            try proveLogin()
        } catch {
            report.failedStep = .proveLogin
            report.failure = error
            if report.newKeyAdded {
                do {
                    _ = try store.remove(keys: [newKey])
                    report.newKeyTakenOut = true
                } catch {
                    report.takeOutFailure = error
                }
            }
            return report
        }

        do {
            let removed = try store.remove(keys: oldKeys)
            report.removed = removed.removed
            report.oldKeysNotFound = removed.notFound
        } catch {
            report.failedStep = .removeOld
            report.failure = error
        }
        return report
    }
}
