import Dataset
import Foundation

/// An image classification folder as torchvision's `ImageFolder` reads it for the reference's zero-shot script:
/// class folders are the sorted sub-folders of `root` (label = position, hence `000`, `001`, …); each class's files
/// are found recursively (symbolic links followed), folders in sorted path order and files sorted within each,
/// keeping those whose name ends, case-insensitively, with one of `extensions`. Sorting is by code point, as
/// Python sorts strings.
public struct ImageFolderDataset: Sendable {
    /// One image and its label.
    public struct Sample: Sendable, Equatable {
        /// `root/<class folder>/…/<file>`, joined as `os.path.join` joins.
        public let path: String
        /// The index of its class folder.
        public let label: Int
    }

    /// torchvision's `IMG_EXTENSIONS`.
    public static let extensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    /// The dataset folder, as given.
    public let root: String
    /// The class folder names, sorted; label n is `classFolders[n]`.
    public let classFolders: [String]
    /// Every image, class by class.
    public let samples: [Sample]

    /// Lists the dataset.
    /// - Throws: `ZeroShotError.unreadableFolder`, `.noClassFolders`, `.emptyClassFolder` naming the folder.
    public init(root: String) throws {
        let files = FileManager.default
        let names: [String]
        do {
            names = try files.contentsOfDirectory(atPath: root)
        } catch {
            let reason = files.fileExists(atPath: root) ? "not a readable folder" : "no such folder"
            throw ZeroShotError.unreadableFolder(path: root, reason: reason)
        }
        let classFolders = names.filter { isDirectory(joinedPath(root, $0)) }.sorted(by: codePointOrder)
        guard !classFolders.isEmpty else { throw ZeroShotError.noClassFolders(path: root) }
        var samples: [Sample] = []
        for (label, folder) in classFolders.enumerated() {
            let classRoot = joinedPath(root, folder)
            let images = Self.imageFiles(under: classRoot)
            guard !images.isEmpty else { throw ZeroShotError.emptyClassFolder(path: classRoot, extensions: Self.extensions) }
            samples += images.map { Sample(path: $0, label: label) }
        }
        self.root = root
        self.classFolders = classFolders
        self.samples = samples
    }

    /// `sorted(os.walk(top, followlinks=True))`, then each folder's sorted file names with an image extension.
    static func imageFiles(under top: String) -> [String] {
        var folders: [(path: String, files: [String])] = []
        var visited = Set<String>()
        var pending = [top]
        while let folder = pending.popLast() {
            // A link cycle would make os.walk loop for ever; each real folder is walked once here.
            let real = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
            guard visited.insert(real).inserted,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            var files: [String] = []
            for name in names {
                let path = joinedPath(folder, name)
                if isDirectory(path) { pending.append(path) } else { files.append(name) }
            }
            folders.append((folder, files))
        }
        folders.sort { codePointOrder($0.path, $1.path) }
        return folders.flatMap { folder in
            folder.files.sorted(by: codePointOrder)
                .filter { name in let lower = name.lowercased(); return extensions.contains { lower.hasSuffix($0) } }
                .map { joinedPath(folder.path, $0) }
        }
    }

    /// The class names of the reference's label file: every line, `str.strip()`-ped; line n names label n.
    /// - Throws: `ZeroShotError.unreadableLabelFile` naming the file (and the line for bytes that are not UTF-8).
    public static func labels(contentsOf path: String) throws -> [String] {
        do {
            let reader = try TextLineReader(path: path)
            var labels: [String] = []
            while let line = try reader.nextString() { labels.append(line.pythonStripped) }
            return labels
        } catch let .unreadableFile(_, reason) {
            throw ZeroShotError.unreadableLabelFile(path: path, reason: reason)
        } catch let .malformedLine(_, line, reason) {
            throw ZeroShotError.unreadableLabelFile(path: path, reason: "line \(line): \(reason)")
        } catch {
            throw ZeroShotError.unreadableLabelFile(path: path, reason: error.description)
        }
    }

    /// The labels of `labelFile`, checked to name exactly this dataset's class folders.
    /// - Throws: `ZeroShotError.labelCountMismatch` naming both when the counts differ.
    public func labels(contentsOf labelFile: String) throws -> [String] {
        let labels = try Self.labels(contentsOf: labelFile)
        guard labels.count == classFolders.count else {
            throw ZeroShotError.labelCountMismatch(labelFile: labelFile, labels: labels.count, datasetFolder: root,
                                                   classFolders: classFolders)
        }
        return labels
    }
}

/// Python's string order: code point by code point.
func codePointOrder(_ lhs: String, _ rhs: String) -> Bool {
    lhs.unicodeScalars.lexicographicallyPrecedes(rhs.unicodeScalars)
}

/// `os.path.join(base, name)`: a name starting with `/` replaces the base; a separator is added unless the base is
/// empty or already ends with one.
func joinedPath(_ base: String, _ name: String) -> String {
    if name.hasPrefix("/") || base.isEmpty { return name }
    return base.hasSuffix("/") ? base + name : base + "/" + name
}

private func isDirectory(_ path: String) -> Bool {
    var directory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
}
