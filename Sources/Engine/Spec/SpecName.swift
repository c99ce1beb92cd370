/// The rules for a spec's `name`, which becomes a folder: `report` writes to
/// `results/<name>/` beside the spec, and run records are filed under it.
enum SpecName {
    /// nil if `name` can name that folder, else why not. It must be one path component
    /// (no `/` or `\`, not `.` or `..`), so it cannot lead outside `results/`, and hold no
    /// control characters (NUL would cut the path short in every C call that sees it).
    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "expected a non-empty string" }
        if name == "." || name == ".." { return "\"\(name)\" is not a name (it is used as a folder under results/)" }
        if name.contains("/") || name.contains("\\") {
            return "\"\(name)\" contains a path separator (the name is used as a folder under results/; use letters, digits, '-', '_', '.')"
        }
        if let c = name.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "contains the control character U+\(String(c.value, radix: 16, uppercase: true).leftPadded(to: 4))"
        }
        return nil
    }
}

extension String {
    /// Pads with leading zeros to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
