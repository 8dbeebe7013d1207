import Foundation
import KeysmithFuzzing
import Testing

/// Every seed in `Fuzz/corpus/NAME/` and every input the fuzzers ever crashed on, kept in
/// `Fuzz/regressions/NAME/`, goes through the same code the libFuzzer targets run: none may crash.
@Suite("Fuzz corpora and regressions")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// The inputs in `Fuzz/FOLDER/TARGET/`.
    /// - Throws: when that folder is missing or unreadable, so a wrong path cannot pass as "nothing to replay".
    static func inputs(_ folder: String, _ target: FuzzTarget) throws -> [URL] {
        let directory = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.sorted().filter { !$0.hasPrefix(".") }.map { directory.appendingPathComponent($0) }
    }

    @Test("each target has a seed corpus that runs cleanly", arguments: FuzzTarget.allCases)
    func seeds(_ target: FuzzTarget) throws {
        let seeds = try Self.inputs("corpus", target)
        #expect(seeds.count >= 3, "Fuzz/corpus/\(target.rawValue) should hold seeds (Fuzz/make-seeds.py)")
        for url in seeds { target.run(Array(try Data(contentsOf: url))) }
    }

    @Test("inputs that once crashed a target no longer do", arguments: FuzzTarget.allCases)
    func regressions(_ target: FuzzTarget) throws {
        // Each folder keeps at least its smallest seed, so the replay always runs something.
        let inputs = try Self.inputs("regressions", target)
        #expect(!inputs.isEmpty, "Fuzz/regressions/\(target.rawValue) holds no input")
        for url in inputs { target.run(Array(try Data(contentsOf: url))) }
    }

    @Test("an encrypted key file asks for the passphrase only with few bcrypt rounds")
    func cheapRounds() throws {
        // The seed generator writes its encrypted keys with -a 2; the check must see that.
        let seeds = try Self.inputs("corpus", .privateKey).filter { $0.lastPathComponent.contains("encrypted") }
        for url in seeds {
            #expect(FuzzTarget.cheapRounds(Array(try Data(contentsOf: url))), "\(url.lastPathComponent)")
        }
    }
}
