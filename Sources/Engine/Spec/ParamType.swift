import JSON

/// A parameter type defined by the module of the ops that use it, not by the engine: what
/// it accepts, how a value is checked, and its JSON Schema. (The merge op's mergekit value
/// forms are one: `ParamType+Merge.swift`.)
public struct CustomParamType: Sendable {
    /// What the type accepts, for messages and the JSON Schema's descriptions.
    public let summary: String
    /// The type's JSON Schema (draft 2020-12), used by `SpecSchema`.
    public let schema: JSONValue
    /// nil if a value fits, else the problem ("expected …: …").
    public let problem: @Sendable (JSONValue) -> String?

    public init(summary: String, schema: JSONValue, problem: @escaping @Sendable (JSONValue) -> String?) {
        self.summary = summary
        self.schema = schema
        self.problem = problem
    }
}

/// The type of an op parameter, and how a spec value is checked against it.
public enum ParamType: Sendable {
    /// A finite number, optionally within a closed range.
    case number(ClosedRange<Double>? = nil)
    /// An integer, optionally within a closed range.
    case integer(ClosedRange<Int>? = nil)
    /// A string, optionally one of fixed choices.
    case string(choices: [String]? = nil)
    case bool
    /// A non-empty list of numbers, each within the range.
    case numberList(ClosedRange<Double>? = nil)
    /// A number, or a non-empty list of numbers (mergekit's per-layer gradient).
    case numberOrGradient(ClosedRange<Double>? = nil)
    /// A list of strings, optionally each one of fixed choices.
    case stringList(choices: [String]? = nil)
    /// An object of string → number (e.g. a data mix: {"general": 0.85, "safety": 0.15}).
    case weights
    /// A type its ops' module defines (checked and described by it).
    case custom(CustomParamType)
    /// Any JSON value; the op checks it.
    case any

    /// What the type accepts, for messages and the JSON Schema.
    public var summary: String {
        switch self {
        case .number(let r): return "a number" + (r.map { " in [\(fmt($0.lowerBound)), \(fmt($0.upperBound))]" } ?? "")
        case .integer(let r): return "an integer" + (r.map { " in [\($0.lowerBound), \($0.upperBound)]" } ?? "")
        case .string(let c): return c.map { "one of " + $0.map { "\"\($0)\"" }.joined(separator: ", ") } ?? "a string"
        case .bool: return "true or false"
        case .numberList(let r): return "a non-empty list of numbers" + (r.map { " in [\(fmt($0.lowerBound)), \(fmt($0.upperBound))]" } ?? "")
        case .numberOrGradient(let r): return "a number or a non-empty list of numbers" + (r.map { " in [\(fmt($0.lowerBound)), \(fmt($0.upperBound))]" } ?? "")
        case .stringList(let c): return "a list of strings" + (c.map { " from " + $0.joined(separator: ", ") } ?? "")
        case .weights: return "an object of name → number ≥ 0"
        case .custom(let c): return c.summary
        case .any: return "any JSON value"
        }
    }

    /// nil if `value` fits, else the problem ("expected …, got …").
    /// Whether it takes any JSON value (checked by the op's cross-check instead).
    public var isAny: Bool { if case .any = self { return true } else { return false } }

    public func problem(with value: JSONValue) -> String? {
        let got = ParamType.describe(value)
        switch self {
        case .number(let r):
            guard let x = value.doubleValue, r?.contains(x) ?? true else { return "expected \(summary), got \(got)" }
        case .integer(let r):
            guard let n = value.intValue, r?.contains(n) ?? true else { return "expected \(summary), got \(got)" }
        case .string(let choices):
            guard let s = value.stringValue, choices?.contains(s) ?? true else { return "expected \(summary), got \(got)" }
        case .bool:
            guard value.boolValue != nil else { return "expected \(summary), got \(got)" }
        case .numberList(let r):
            guard let list = value.arrayValue, !list.isEmpty,
                  list.allSatisfy({ $0.doubleValue.map { r?.contains($0) ?? true } ?? false }) else {
                return "expected \(summary), got \(got)"
            }
        case .numberOrGradient(let r):
            if let x = value.doubleValue { return r?.contains(x) ?? true ? nil : "expected \(summary), got \(got)" }
            return ParamType.numberList(r).problem(with: value).map { _ in "expected \(summary), got \(got)" }
        case .stringList(let choices):
            guard let list = value.arrayValue,
                  list.allSatisfy({ $0.stringValue.map { choices?.contains($0) ?? true } ?? false }) else {
                return "expected \(summary), got \(got)"
            }
        case .weights:
            guard let object = value.objectValue, !object.isEmpty,
                  object.allSatisfy({ ($0.value.doubleValue ?? -1) >= 0 }) else {
                return "expected \(summary), got \(got)"
            }
        case .custom(let c):
            return c.problem(value)
        case .any:
            return nil
        }
        return nil
    }

    /// A short rendering of a value for messages: strings quoted, long values cut.
    public static func describe(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count > 40 ? String(text.prefix(37)) + "…" : text
    }

    private func fmt(_ x: Double) -> String { JSONValue.number(x).serialized() }
}
