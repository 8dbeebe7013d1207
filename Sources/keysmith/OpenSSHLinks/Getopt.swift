/// A command line split as OpenSSH's tools split theirs: POSIX getopt(3) over an option
/// string such as ssh-keygen's `"ABHKLQUXceghiklopquvyC:D:E:…"` (a letter followed by `:`
/// takes a value, joined as `-fFILE` or as the next word).
///
/// OpenSSH on glibc uses its own BSD getopt (glibc has no `optreset`), which does not
/// permute: the first word that is not an option, and every word after it, are operands,
/// and `--` ends the options. Letters are kept in order, repeated letters included, because
/// ssh-keygen counts some (`-v`, `-q`) and lets the last value of others win.
struct Getopt: Equatable {
    /// An option letter and its value (nil for a flag).
    struct Option: Equatable {
        var letter: Character
        var value: String?
    }

    /// Why a command line was refused, worded as getopt(3) words it on stderr (without the
    /// program name): `unknown option -- x` (OpenSSH's wording) or `option requires an argument -- f`.
    struct UsageError: Error, Equatable {
        var message: String
    }

    var options: [Option] = []
    var operands: [String] = []

    /// Splits `arguments` (without the program name) by `optionString`.
    init(_ arguments: [String], optionString: String) throws(UsageError) {
        var takesValue: [Character: Bool] = [:]
        let spec = Array(optionString)
        var index = 0
        while index < spec.count {
            let letter = spec[index]
            let hasValue = index + 1 < spec.count && spec[index + 1] == ":"
            // getopt(3) finds a letter with strchr: its first place in the string counts
            // (ssh-keygen 9.2 lists `g` twice, as a flag and again as `g:`).
            if takesValue[letter] == nil { takesValue[letter] = hasValue }
            index += hasValue ? 2 : 1
        }
        var rest = arguments[...]
        while let word = rest.first {
            if word == "--" {
                rest.removeFirst()
                break
            }
            guard word.hasPrefix("-"), word.count > 1 else { break }
            rest.removeFirst()
            var letters = Array(word.dropFirst())[...]
            while let letter = letters.popFirst() {
                guard letter != ":", let hasValue = takesValue[letter] else {
                    throw UsageError(message: "unknown option -- \(letter)")
                }
                if !hasValue {
                    self.options.append(Option(letter: letter, value: nil))
                    continue
                }
                if !letters.isEmpty {
                    self.options.append(Option(letter: letter, value: String(letters)))
                } else if let next = rest.popFirst() {
                    self.options.append(Option(letter: letter, value: next))
                } else {
                    throw UsageError(message: "option requires an argument -- \(letter)")
                }
                break
            }
        }
        self.operands = Array(rest)
    }

    /// How many times `letter` was given.
    func count(_ letter: Character) -> Int { self.options.count { $0.letter == letter } }

    /// The last value given for `letter`, as a program that overwrites its variable keeps it.
    func last(_ letter: Character) -> String? { self.options.last { $0.letter == letter }?.value }

    /// Every value given for `letter`, in order (for options that accumulate, such as `-O`).
    func all(_ letter: Character) -> [String] { self.options.filter { $0.letter == letter }.compactMap(\.value) }

    /// Whether `letter` was given at all.
    func has(_ letter: Character) -> Bool { self.options.contains { $0.letter == letter } }
}
