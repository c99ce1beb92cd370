import Foundation

/// Permission changes over a whole folder tree: materialised inputs are made read-only so a
/// program that writes to them is caught, and made writable again before they are removed.
public enum FileModes {
    /// Files 0444, folders 0555.
    public static func makeReadOnly(_ path: String) { setModes(path, file: 0o444, folder: 0o555) }

    /// Files 0644, folders 0755.
    public static func makeWritable(_ path: String) { setModes(path, file: 0o644, folder: 0o755) }

    private static func setModes(_ path: String, file: mode_t, folder: mode_t) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            chmod(path, 0o755)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                setModes((path as NSString).appendingPathComponent(name), file: file, folder: folder)
            }
            chmod(path, folder)
        } else {
            chmod(path, file)
        }
    }
}
