/// Where a value sits inside a document, for validation messages such as
/// `nodes.merged.params.weights[1]: expected a number, got string`.
///
/// Keys that read as plain names are joined with dots; other keys (empty, or containing
/// `.`, `[`, `]`, quotes, backslashes, whitespace or control characters) are written as
/// quoted JSON strings in brackets, `["odd key"]`. Indices are written `[1]`. The empty path
/// renders as `(root)`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    /// One step down into a document.
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    /// The steps from the root, outermost first.
    public private(set) var components: [Component]

    /// The path of the whole document.
    public static let root = JSONPath()

    public init(_ components: [Component] = []) {
        self.components = components
    }

    /// This path, then the object member `key`.
    public func appending(_ key: String) -> JSONPath {
        JSONPath(components + [.key(key)])
    }

    /// This path, then the array element at `index`.
    public func appending(_ index: Int) -> JSONPath {
        JSONPath(components + [.index(index)])
    }

    public var description: String {
        guard !components.isEmpty else { return "(root)" }
        var text = ""
        for component in components {
            switch component {
            case .key(let key) where Self.isPlainName(key):
                if !text.isEmpty { text += "." }
                text += key
            case .key(let key):
                text += "[" + JSONWriter.quoted(key) + "]"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// Whether `key` can be written bare after a dot without being misread.
    private static func isPlainName(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { scalar in
            !scalar.properties.isWhitespace
                && scalar.value >= 0x20 && scalar.value != 0x7F
                && !".[]\"\\".unicodeScalars.contains(scalar)
        }
    }
}
