import Foundation

/// One prompt template of the reference, `lambda c: f"<prefix>{c}<suffix>"`: applying it to a class name gives
/// `prefix + name + suffix` (an f-string `{c}` of a string is the string itself).
public struct PromptTemplate: Sendable, Hashable, Codable {
    /// The text before the class name.
    public let prefix: String
    /// The text after the class name.
    public let suffix: String

    /// A template `prefix{c}suffix`.
    public init(prefix: String, suffix: String) {
        self.prefix = prefix
        self.suffix = suffix
    }

    /// The prompt for `className`, as the reference's `template(classname)`.
    public func callAsFunction(_ className: String) -> String { prefix + className + suffix }

    public init(from decoder: Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        prefix = try pair.decode(String.self)
        suffix = try pair.decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var pair = encoder.unkeyedContainer()
        try pair.encode(prefix)
        try pair.encode(suffix)
    }
}

/// The reference's prompt-template lists (`cn_clip/eval/cvinw_zeroshot_templates.py`) and which one the
/// zero-shot script uses for which `--dataset`; generated from the reference by `Scripts/fixtures/gen_zeroshot.py`.
public struct PromptTemplateSets: Sendable, Decodable {
    /// The set used for a dataset without an entry in `datasets` ("openai", 183 templates).
    public let defaultSet: String
    /// Dataset name → set name (e.g. `food-101` → `food`).
    public let datasets: [String: String]
    /// Set name → templates, in the reference's order.
    public let sets: [String: [PromptTemplate]]

    private enum CodingKeys: String, CodingKey {
        case defaultSet = "default", datasets, sets
    }

    /// The sets bundled with the library, read once per process.
    public static func bundled() throws -> PromptTemplateSets { try bundledSets.get() }

    private static let bundledSets: Result<PromptTemplateSets, ZeroShotError> = {
        guard let url = Bundle.module.url(forResource: "zeroshot_templates", withExtension: "json") else {
            return .failure(.malformedTemplates(reason: "not found in the Retrieval resources"))
        }
        do {
            let sets = try JSONDecoder().decode(PromptTemplateSets.self, from: Data(contentsOf: url))
            guard sets.sets[sets.defaultSet] != nil, sets.datasets.values.allSatisfy({ sets.sets[$0] != nil }) else {
                return .failure(.malformedTemplates(reason: "a dataset names a set the file does not hold"))
            }
            return .success(sets)
        } catch {
            return .failure(.malformedTemplates(reason: "\(error)"))
        }
    }()

    /// The name of the set the reference's zero-shot script picks for `dataset`.
    public func setName(forDataset dataset: String) -> String { datasets[dataset] ?? defaultSet }

    /// The templates the reference's zero-shot script uses for `dataset`.
    public func templates(forDataset dataset: String) -> [PromptTemplate] {
        sets[setName(forDataset: dataset)] ?? []
    }

    /// The set called `name` (e.g. `openai`, `food`, `pet`).
    /// - Throws: `ZeroShotError.unknownTemplateSet` listing the known names.
    public func templates(named name: String) throws -> [PromptTemplate] {
        guard let templates = sets[name] else { throw ZeroShotError.unknownTemplateSet(name: name, known: sets.keys.sorted()) }
        return templates
    }
}
