import Imaging

/// Why a zero-shot evaluation cannot run. Every case names the file or folder at fault.
public enum ZeroShotError: Error, CustomStringConvertible, Equatable {
    /// The dataset folder does not exist or cannot be listed.
    case unreadableFolder(path: String, reason: String)
    /// The dataset folder holds no class sub-folders.
    case noClassFolders(path: String)
    /// A class folder holds no file with an image extension (searched recursively).
    case emptyClassFolder(path: String, extensions: [String])
    /// The label file cannot be read or is not UTF-8.
    case unreadableLabelFile(path: String, reason: String)
    /// The label file has a different number of lines than the dataset has class folders.
    case labelCountMismatch(labelFile: String, labels: Int, datasetFolder: String, classFolders: [String])
    /// An image of the dataset cannot be decoded (the decoder's error names the file).
    case unreadableImage(ImagingError)
    /// The `--index` file is not a JSON list of integers within range.
    case invalidIndex(path: String, reason: String)
    /// An unknown template set name.
    case unknownTemplateSet(name: String, known: [String])
    /// The bundled template file is missing or malformed.
    case malformedTemplates(reason: String)
    /// A classifier without labels or templates, or an image batch of the wrong shape.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unreadableFolder(path, reason): return "\(path): cannot list the dataset folder: \(reason)"
        case let .noClassFolders(path): return "\(path): no class folder found (expected sub-folders 000, 001, …)"
        case let .emptyClassFolder(path, extensions):
            return "\(path): class folder holds no image file (extensions: \(extensions.joined(separator: ", ")))"
        case let .unreadableLabelFile(path, reason): return "\(path): cannot read the label file: \(reason)"
        case let .labelCountMismatch(labelFile, labels, datasetFolder, classFolders):
            let shown = classFolders.count > 6
                ? classFolders.prefix(3).joined(separator: ", ") + ", …, " + classFolders.suffix(2).joined(separator: ", ")
                : classFolders.joined(separator: ", ")
            return "\(labelFile): \(labels) label line(s), but \(datasetFolder) has \(classFolders.count) class folder(s) "
                + "(\(shown)); line n of the label file names class folder n"
        case let .unreadableImage(error): return error.description
        case let .invalidIndex(path, reason): return "\(path): invalid index file: \(reason)"
        case let .unknownTemplateSet(name, known):
            return "unknown template set \"\(name)\"; known: \(known.joined(separator: ", "))"
        case let .malformedTemplates(reason): return "bundled zeroshot_templates.json: \(reason)"
        case let .invalidInput(reason): return reason
        }
    }
}
