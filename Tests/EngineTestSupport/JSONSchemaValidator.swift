import Foundation
import JSON

/// A JSON Schema (draft 2020-12) validator for tests, covering exactly the keywords
/// `SpecSchema` emits, so tests can show the generated schema accepts and rejects what
/// `SpecParser` does without a package dependency.
///
/// Any other keyword is reported as an error rather than skipped: a schema that grows a
/// keyword this file does not know must fail the tests, not pass them by being ignored.
/// `$ref` resolves only `#/$defs/NAME` in the root schema.
public struct JSONSchemaValidator {
    public let schema: JSONValue

    /// Keywords that never fail a value: metadata, and the `$defs` that `$ref` reads.
    /// `then`/`else` are read by `if`.
    private static let passive: Set<String> = ["$schema", "$defs", "title", "description", "default", "then", "else"]

    public init(schema: JSONValue) { self.schema = schema }

    /// Every violation of the schema by `value`, as `path: message`; empty when it is valid.
    public func errors(in value: JSONValue) -> [String] {
        errors(value, schema, at: .root)
    }

    private func errors(_ value: JSONValue, _ schema: JSONValue, at path: JSONPath) -> [String] {
        switch schema {
        case .bool(true): return []
        case .bool(false): return ["\(path): no value is allowed here"]
        case .object(let keywords):
            return keywords.flatMap { keyword, argument in
                check(value, keyword: keyword, argument, in: keywords, at: path)
            }
        default:
            return ["\(path): invalid schema \(schema)"]
        }
    }

    private func check(_ value: JSONValue, keyword: String, _ argument: JSONValue,
                       in keywords: JSONObject, at path: JSONPath) -> [String] {
        if Self.passive.contains(keyword) { return [] }
        let here = "\(path):"
        switch keyword {
        case "type":
            let names = argument.arrayValue?.compactMap(\.stringValue) ?? [argument.stringValue ?? ""]
            return names.contains(where: { Self.has(value, type: $0) }) ? []
                : ["\(here) expected \(names.joined(separator: " or ")), got \(value.typeName)"]
        case "enum":
            let choices = argument.arrayValue ?? []
            return choices.contains(where: { $0.isEquivalent(to: value) }) ? []
                : ["\(here) \(value) is not one of \(argument)"]
        case "const":
            return argument.isEquivalent(to: value) ? [] : ["\(here) expected \(argument), got \(value)"]
        case "minimum":
            guard let x = value.doubleValue, let bound = argument.doubleValue else { return [] }
            return x >= bound ? [] : ["\(here) \(value) is less than the minimum \(argument)"]
        case "maximum":
            guard let x = value.doubleValue, let bound = argument.doubleValue else { return [] }
            return x <= bound ? [] : ["\(here) \(value) is more than the maximum \(argument)"]
        case "minLength":
            guard let s = value.stringValue, let n = argument.intValue else { return [] }
            return s.unicodeScalars.count >= n ? [] : ["\(here) shorter than \(n) characters"]
        case "pattern":
            guard let s = value.stringValue, let pattern = argument.stringValue else { return [] }
            return Self.matches(s, pattern) ? [] : ["\(here) \(value) does not match \(pattern)"]
        case "minItems":
            guard let items = value.arrayValue, let n = argument.intValue else { return [] }
            return items.count >= n ? [] : ["\(here) expected at least \(n) items, got \(items.count)"]
        case "items":
            guard let items = value.arrayValue else { return [] }
            return items.enumerated().flatMap { errors($0.element, argument, at: path.appending($0.offset)) }
        case "minProperties":
            guard let object = value.objectValue, let n = argument.intValue else { return [] }
            return object.count >= n ? [] : ["\(here) expected at least \(n) members, got \(object.count)"]
        case "required":
            guard let object = value.objectValue else { return [] }
            return (argument.arrayValue ?? []).compactMap(\.stringValue)
                .filter { object[$0] == nil }
                .map { "\(path.appending($0)): missing required member" }
        case "properties":
            guard let object = value.objectValue, let properties = argument.objectValue else { return [] }
            return object.flatMap { key, member in
                properties[key].map { errors(member, $0, at: path.appending(key)) } ?? []
            }
        case "patternProperties":
            guard let object = value.objectValue, let patterns = argument.objectValue else { return [] }
            return object.flatMap { key, member in
                patterns.filter { Self.matches(key, $0.key) }.flatMap { errors(member, $0.value, at: path.appending(key)) }
            }
        case "additionalProperties":
            guard let object = value.objectValue else { return [] }
            let named = keywords["properties"]?.objectValue ?? JSONObject()
            let patterns = keywords["patternProperties"]?.objectValue?.keys ?? []
            return object.flatMap { key, member -> [String] in
                if named[key] != nil || patterns.contains(where: { Self.matches(key, $0) }) { return [] }
                if argument == .bool(false) { return ["\(path.appending(key)): unknown member"] }
                return errors(member, argument, at: path.appending(key))
            }
        case "propertyNames":
            guard let object = value.objectValue else { return [] }
            return object.keys.flatMap { key in
                errors(.string(key), argument, at: path.appending(key)).map { "property name: " + $0 }
            }
        case "allOf":
            return (argument.arrayValue ?? []).flatMap { errors(value, $0, at: path) }
        case "anyOf":
            let outcomes = (argument.arrayValue ?? []).map { errors(value, $0, at: path) }
            return outcomes.contains(where: \.isEmpty) ? []
                : ["\(here) matches none of anyOf (" + outcomes.map { $0.joined(separator: "; ") }.joined(separator: " | ") + ")"]
        case "oneOf":
            let passing = (argument.arrayValue ?? []).filter { errors(value, $0, at: path).isEmpty }.count
            return passing == 1 ? [] : ["\(here) matches \(passing) of oneOf, expected exactly 1"]
        case "if":
            let branch = errors(value, argument, at: path).isEmpty ? keywords["then"] : keywords["else"]
            return branch.map { errors(value, $0, at: path) } ?? []
        case "$ref":
            let prefix = "#/$defs/"
            guard let reference = argument.stringValue, reference.hasPrefix(prefix),
                  let target = self.schema.objectValue?["$defs"]?.objectValue?[String(reference.dropFirst(prefix.count))] else {
                return ["\(here) unresolvable $ref \(argument)"]
            }
            return errors(value, target, at: path)
        default:
            return ["\(here) unsupported schema keyword \"\(keyword)\""]
        }
    }

    /// JSON Schema's types; "integer" is any number with no fractional part (so `2.0` is one).
    private static func has(_ value: JSONValue, type: String) -> Bool {
        switch type {
        case "integer": return value.doubleValue.map { $0.rounded() == $0 } ?? false
        default: return value.typeName == type
        }
    }

    /// An unanchored ECMA-style search, as JSON Schema's `pattern` specifies; an invalid
    /// pattern matches nothing, so the test fails.
    private static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
