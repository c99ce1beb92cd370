import Foundation

/// Every metric row, one per line, for other tools: CSV (RFC 4180 quoting) and JSON Lines.
public enum DelimitedExport {
    static let columns = ["variant", "stage", "seed", "lang", "objective", "metric", "value", "n"]

    public static func csv(_ metrics: [LabeledMetric]) -> String {
        var out = columns.joined(separator: ",") + "\n"
        for m in metrics {
            out += [m.variant, m.stage, m.seed, m.lang, m.objective, m.metric].map(quote).joined(separator: ",")
                + ",\(number(m.value)),\(m.n)\n"
        }
        return out
    }

    public static func jsonLines(_ metrics: [LabeledMetric]) -> String {
        metrics.map { m in
            "{\"variant\":\(json(m.variant)),\"stage\":\(json(m.stage)),\"seed\":\(json(m.seed)),\"lang\":\(json(m.lang)),"
                + "\"objective\":\(json(m.objective)),\"metric\":\(json(m.metric)),\"value\":\(number(m.value)),\"n\":\(m.n)}\n"
        }.joined()
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
    public static func quote(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "null" }

    static func json(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
