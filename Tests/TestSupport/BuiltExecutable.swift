import Foundation

/// The `cnclip` executable built beside the test bundle (`swift build --build-tests` builds both into
/// `.build/<triple>/<configuration>/`), for tests that run it as a user would.
public enum BuiltExecutable {
    /// Its URL, or nil when it is not built there.
    public static let cnclip: URL? = {
        let bundle = Bundle.main.bundleURL
        let candidates = [bundle.appendingPathComponent("cnclip"),
                          bundle.deletingLastPathComponent().appendingPathComponent("cnclip")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()
}
