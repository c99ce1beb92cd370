/// Why a JSON text was rejected, and where.
///
/// Positions are 1-based. `column` counts **bytes** from the start of the line, so a line
/// that starts with `"é": x` puts `x` at column 7, not 6. Lines end at `\n` (a `\r` before
/// it belongs to the line). A leading byte order mark is not counted.
public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable, Sendable {
    /// 1-based line number.
    public var line: Int
    /// 1-based byte offset within the line.
    public var column: Int
    /// What is wrong, e.g. `duplicate key "a"`.
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line 3, column 14: expected ',' or '}' after an object member`
    public var description: String {
        "line \(line), column \(column): \(message)"
    }
}
