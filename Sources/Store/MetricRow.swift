import JSON

/// One evaluation result: a metric of a model on one language and objective, over `n`
/// items. The one schema shared by `eval`'s results, a `command`'s metrics output (JSON
/// Lines), reports, `mergeflow metrics` and the cache's SQL views (`Schema` builds them
/// from `storedFields`).
///
/// Stored as `{"lang", "objective", "metric", "value", "n"}` plus `"sd"` (the item standard
/// deviation) when known, in that key order, in a metrics artifact's `metadata.rows`.
public struct MetricRow: Sendable, Equatable {
    public var lang: String
    public var objective: String
    public var metric: String
    public var value: Double
    public var n: Int
    /// The standard deviation of the item values behind `value` (nil for derived rows).
    public var sd: Double?

    public init(lang: String, objective: String, metric: String, value: Double, n: Int, sd: Double? = nil) {
        self.lang = lang
        self.objective = objective
        self.metric = metric
        self.value = value
        self.n = n
        self.sd = sd
    }

    /// Every key a row may have, in the order it is written.
    public static let fields = ["lang", "objective", "metric", "value", "n", "sd"]
    /// The keys the SQL views expose as columns (`sd` is not one of them).
    static let storedFields = ["lang", "objective", "metric", "value", "n"]

    /// The artifact kind whose `metadata.rows` holds metric rows.
    public static let artifactKind: ArtifactKind = .metrics

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [("lang", .string(lang)), ("objective", .string(objective)), ("metric", .string(metric)),
                                             ("value", .number(value)), ("n", .number(Double(n)))]
        if let sd { fields.append(("sd", .number(sd))) }
        return .object(JSONObject(fields))
    }

    /// Why a row written by someone else (a command's output) is not a metric row.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// A row as an external program wrote it, checked strictly: no unknown keys, non-empty
    /// strings, a finite value, a whole `n` ≥ 0, an `sd` ≥ 0 if given.
    public init(checking value: JSONValue) throws(Problem) {
        guard let o = value.objectValue else {
            throw Problem(message: "expected a JSON object {\"lang\", \"objective\", \"metric\", \"value\", \"n\"}")
        }
        for key in o.keys where !MetricRow.fields.contains(key) {
            throw Problem(message: "unknown key \"\(key)\" (allowed: \(MetricRow.fields.joined(separator: ", ")))")
        }
        for key in ["lang", "objective", "metric"] where (o[key]?.stringValue ?? "").isEmpty {
            throw Problem(message: "\"\(key)\" must be a non-empty string")
        }
        guard let v = o["value"]?.doubleValue, v.isFinite else { throw Problem(message: "\"value\" must be a finite number") }
        guard let n = o["n"]?.intValue, n >= 0 else { throw Problem(message: "\"n\" must be a whole number ≥ 0") }
        var sd: Double? = nil
        if let given = o["sd"] {
            guard let s = given.doubleValue, s.isFinite, s >= 0 else { throw Problem(message: "\"sd\" must be a number ≥ 0") }
            sd = s
        }
        self.init(lang: o["lang"]!.stringValue!, objective: o["objective"]!.stringValue!, metric: o["metric"]!.stringValue!,
                  value: v, n: n, sd: sd)
    }

    /// JSON Lines of rows (blank lines ignored); a bad line throws with its 1-based number.
    public static func jsonLines(_ text: String) throws(LineProblem) -> [MetricRow] {
        var rows: [MetricRow] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            do throws(Problem) {
                guard let value = try? JSONValue.parse(String(trimmed)) else {
                    throw Problem(message: "expected a JSON object {\"lang\", \"objective\", \"metric\", \"value\", \"n\"}")
                }
                rows.append(try MetricRow(checking: value))
            } catch {
                throw LineProblem(line: i + 1, problem: error)
            }
        }
        return rows
    }

    /// A problem on one line of JSON Lines.
    public struct LineProblem: Error, Sendable {
        public let line: Int
        public let problem: Problem
    }

    /// The rows stored in a metrics artifact's metadata, read leniently (rows without a
    /// numeric value are skipped; missing text fields read as "?").
    public static func rows(inMetadata metadata: JSONValue) -> [MetricRow] {
        (metadata.objectValue?["rows"]?.arrayValue ?? []).compactMap { row in
            guard let o = row.objectValue, let value = o["value"]?.doubleValue else { return nil }
            return MetricRow(lang: o["lang"]?.stringValue ?? "?", objective: o["objective"]?.stringValue ?? "?",
                             metric: o["metric"]?.stringValue ?? "?", value: value, n: o["n"]?.intValue ?? 0, sd: o["sd"]?.doubleValue)
        }
    }

    /// The `metrics` view's row columns, extracted from each stored row.
    static var viewColumns: String {
        storedFields.map { "json_extract(r.value, '$.\($0)') AS \($0)" }.joined(separator: ", ")
    }
}
