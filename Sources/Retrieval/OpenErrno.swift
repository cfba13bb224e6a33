#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The errno Python's `open(path)` fails with (ENOENT, EACCES, EISDIR, …); 0 when the file opens.
func openErrno(_ path: String) -> Int32 {
    let descriptor = open(path, O_RDONLY)
    if descriptor < 0 { return errno }
    defer { close(descriptor) }
    var status = stat()
    if fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { return EISDIR }
    return 0
}

/// `os.path.exists(path)`: whether `stat` succeeds.
func pathExists(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0
}
