/// A JSON document or any part of one.
///
/// Numbers are kept as `Double`, the way the parser reads them with the standard library, so
/// integers beyond 2^53 lose precision exactly as they would in any other JSON consumer.
/// Objects keep their members in source order (see ``JSONObject``) so that error messages and
/// pretty output follow the user's file.
///
/// A non-finite number cannot come out of the parser. If code builds one anyway, every
/// serializer writes it as `null`, so output is always valid JSON.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON name of this value's kind, for messages like `expected a number, got string`.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The string, or nil when this is not a string.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The number, or nil when this is not a number.
    public var doubleValue: Double? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// The number as an `Int`, or nil when this is not a number, has a fractional part, or
    /// does not fit in `Int`. `2.0` gives 2; `2.5` and `1e30` give nil.
    public var intValue: Int? {
        if case .number(let number) = self { return Int(exactly: number) }
        return nil
    }

    /// The boolean, or nil when this is not `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// The elements, or nil when this is not an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The members, or nil when this is not an object.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Whether the two values have the same canonical encoding: equal up to object member
    /// order (and `-0` versus `0`).
    ///
    /// `==` compares member order too, because order is part of what the user wrote; use
    /// this when only the content matters, as content hashing does.
    public func isEquivalent(to other: JSONValue) -> Bool {
        canonicalData() == other.canonicalData()
    }
}
