import Foundation

/// Finds the image files under the paths given to `index add`: folders walked recursively (links followed, each real
/// folder once), files kept when their extension is one Imaging decodes; a file named directly is always kept.
enum ImageFiles {
    /// Extensions of the formats Imaging decodes (JPEG, PNG, WebP, GIF, BMP), lower case.
    static let extensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib"]

    /// Absolute, standardised paths in sorted order, without duplicates.
    /// - Throws: `IndexError.io` naming a path that does not exist.
    static func find(_ paths: [String]) throws -> [String] {
        var found = Set<String>()
        var visited = Set<String>()
        for path in paths {
            let root = absolute(path)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isFolder) else {
                throw IndexError.io(path: path, reason: "no such file or folder")
            }
            if !isFolder.boolValue {
                found.insert(root)
                continue
            }
            var pending = [root]
            while let folder = pending.popLast() {
                let real = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
                guard visited.insert(real).inserted,
                      let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
                for name in names where !name.hasPrefix(".") {
                    let child = folder + "/" + name
                    var childIsFolder: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: child, isDirectory: &childIsFolder) else { continue }
                    if childIsFolder.boolValue {
                        pending.append(child)
                    } else if extensions.contains((name as NSString).pathExtension.lowercased()) {
                        found.insert(child)
                    }
                }
            }
        }
        return found.sorted()
    }

    /// `path` made absolute against the working directory and standardised (no `.`/`..`, no trailing `/`).
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Size and modification time (ns since 1970) of a file, or nil when it cannot be stat-ed.
    static func stamp(_ path: String) -> (size: Int64, mtime: Int64)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (Int64(status.st_size), Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
    }
}
