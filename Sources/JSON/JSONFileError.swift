/// Why ``JSONValue/parse(contentsOf:)`` failed: the file could not be read, or it is not
/// valid JSON. Both messages start with the path, so the CLI can print them as they are.
public enum JSONFileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The operating system refused to read the file; `reason` is its explanation
    /// (`No such file or directory`).
    case unreadable(path: String, reason: String)
    /// The file was read but its contents are not valid JSON.
    case invalidJSON(path: String, JSONSyntaxError)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "\(path): cannot read file: \(reason)"
        case .invalidJSON(let path, let error):
            "\(path): \(error)"
        }
    }
}
