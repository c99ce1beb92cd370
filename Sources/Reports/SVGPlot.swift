import Foundation

/// Minimal SVG charts, written by hand so the report needs no plotting library and renders
/// in any browser: a scatter plot with labelled points, a grouped bar chart, and curves with
/// interval whiskers.
enum SVGPlot {
    struct Point { let label: String; let x: Double; let y: Double; let highlighted: Bool }
    /// A point with the half-widths of its intervals (nil: none drawn).
    struct CurvePoint { let label: String; let x: Double; let xHalf: Double?; let y: Double; let yHalf: Double? }
    /// Points joined in the given order; a family of one is a labelled point.
    struct Family { let name: String; let points: [CurvePoint] }
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static let width = 720.0, height = 440.0, margin = (left: 70.0, right: 30.0, top: 30.0, bottom: 60.0)

    /// Points on linear axes with ticks; highlighted points are drawn filled and joined by a
    /// line in x order (a Pareto front).
    static func scatter(_ points: [Point], xLabel: String, yLabel: String, title: String) -> String {
        guard !points.isEmpty else { return "<p>(no points to plot)</p>" }
        let xs = padded(points.map(\.x)), ys = padded(points.map(\.y))
        let (px, py) = (pixelX(xs), pixelY(ys))
        var svg = header(title)
        svg += axes(xs: xs, ys: ys, px: px, py: py, xLabel: xLabel, yLabel: yLabel)
        let front = points.filter(\.highlighted).sorted { $0.x < $1.x }
        if front.count > 1 {
            svg += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\" points=\""
                + front.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ") + "\"/>\n"
        }
        for p in points {
            let (cx, cy) = (px(p.x), py(p.y))
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%@\" stroke=\"#1f3a5f\"><title>%@</title></circle>\n",
                          cx, cy, p.highlighted ? "#c0392b" : "#ffffff", escape("\(p.label): x \(format(p.x)), y \(format(p.y))"))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">%@</text>\n", cx + 7, cy - 6, escape(p.label))
        }
        return svg + "</svg>\n"
    }

    /// One group of bars per category (e.g. a language), one bar per series (e.g. a variant).
    static func groupedBars(categories: [String], series: [(name: String, values: [Double?])], yLabel: String, title: String) -> String {
        let all = series.flatMap { $0.values.compactMap { $0 } }
        guard !all.isEmpty else { return "<p>(no values to plot)</p>" }
        let ys = padded(all + [0])
        let py = pixelY(ys)
        let groupW = plotW / Double(categories.count), barW = groupW * 0.8 / Double(max(1, series.count))
        var svg = header(title)
        svg += axes(xs: nil, ys: ys, px: { $0 }, py: py, xLabel: "", yLabel: yLabel)
        for (c, category) in categories.enumerated() {
            let x0 = margin.left + Double(c) * groupW + groupW * 0.1
            for (s, serie) in series.enumerated() {
                guard let v = serie.values[c] else { continue }
                let top = py(max(v, 0)), bottom = py(min(v, 0))
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%@</title></rect>\n",
                              x0 + Double(s) * barW, top, barW * 0.92, max(0.5, bottom - top), palette[s % palette.count],
                              escape("\(serie.name), \(category): \(format(v))"))
            }
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                          margin.left + (Double(c) + 0.5) * groupW, height - margin.bottom + 18, escape(category))
        }
        for (s, serie) in series.enumerated() {  // legend, below the axis
            let x = margin.left + Double(s % 4) * 160, y = height - 22 + Double(s / 4) * 12
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"%@\"/>", x, y - 8, palette[s % palette.count])
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%@</text>\n", x + 12, y, escape(serie.name))
        }
        return svg + "</svg>\n"
    }

    /// Each family in its own colour: whiskers (the intervals; the axes span them all), a line
    /// through its points in order, and a legend entry below the x label (rows of five);
    /// families of one point are labelled at the point instead.
    static func curves(_ families: [Family], xLabel: String, yLabel: String, title: String) -> String {
        let all = families.flatMap(\.points)
        guard !all.isEmpty else { return "<p>(no points to plot)</p>" }
        let xs = padded(all.flatMap { [$0.x - ($0.xHalf ?? 0), $0.x + ($0.xHalf ?? 0)] })
        let ys = padded(all.flatMap { [$0.y - ($0.yHalf ?? 0), $0.y + ($0.yHalf ?? 0)] })
        let (px, py) = (pixelX(xs), pixelY(ys))
        var svg = header(title)
        svg += axes(xs: xs, ys: ys, px: px, py: py, xLabel: xLabel, yLabel: yLabel)
        var legend = 0
        for (f, family) in families.enumerated() {
            let colour = palette[f % palette.count]
            for p in family.points {
                if let h = p.xHalf, h > 0 {
                    svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-opacity=\"0.5\"/>\n",
                                  px(p.x - h), py(p.y), px(p.x + h), py(p.y), colour)
                }
                if let h = p.yHalf, h > 0 {
                    svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-opacity=\"0.5\"/>\n",
                                  px(p.x), py(p.y - h), px(p.x), py(p.y + h), colour)
                }
            }
            if family.points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
                    + family.points.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ") + "\"/>\n"
            }
            for p in family.points {
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"><title>%@</title></circle>\n",
                              px(p.x), py(p.y), colour, escape("\(p.label): x \(format(p.x)), y \(format(p.y))"))
            }
            if family.points.count == 1, let p = family.points.first {
                // Near the right edge the label goes to the point's left, so it is not cut off.
                let left = px(p.x) > width - margin.right - 100
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%@\"%@>%@</text>\n",
                              left ? px(p.x) - 7 : px(p.x) + 7, py(p.y) - 6, colour, left ? " text-anchor=\"end\"" : "",
                              escape(family.name))
            } else {
                let x = margin.left + Double(legend % 5) * 128, y = height - 8 + Double(legend / 5) * 12
                svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"3\" fill=\"%@\"/>", x, y - 5, colour)
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%@</text>\n", x + 18, y, escape(family.name))
                legend += 1
            }
        }
        return svg + "</svg>\n"
    }

    // MARK: Pieces

    static let plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom

    /// Data x in `xs` to the plot area's pixel column.
    static func pixelX(_ xs: (lo: Double, hi: Double)) -> (Double) -> Double {
        { x in margin.left + (x - xs.lo) / (xs.hi - xs.lo) * plotW }
    }

    /// Data y in `ys` to the plot area's pixel row (up is larger).
    static func pixelY(_ ys: (lo: Double, hi: Double)) -> (Double) -> Double {
        { y in margin.top + plotH - (y - ys.lo) / (ys.hi - ys.lo) * plotH }
    }

    static func header(_ title: String) -> String {
        String(format: "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
               width, height + 12, width, height + 12)
            + "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
            + String(format: "<text x=\"%.1f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%@</text>\n", margin.left, escape(title))
    }

    static func axes(xs: (lo: Double, hi: Double)?, ys: (lo: Double, hi: Double), px: (Double) -> Double, py: (Double) -> Double,
                     xLabel: String, yLabel: String) -> String {
        let bottom = height - margin.bottom, right = width - margin.right
        var svg = String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", margin.left, bottom, right, bottom)
        svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", margin.left, margin.top, margin.left, bottom)
        for t in ticks(ys.lo, ys.hi) {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", margin.left, py(t), right, py(t))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%@</text>\n", margin.left - 5, py(t) + 3, format(t))
        }
        if let xs {
            for t in ticks(xs.lo, xs.hi) {
                svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>", px(t), bottom, px(t), bottom + 4)
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%@</text>\n", px(t), bottom + 16, format(t))
            }
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n",
                          (margin.left + right) / 2, bottom + 34, escape(xLabel))
        }
        svg += String(format: "<text x=\"16\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">%@</text>\n",
                      (margin.top + bottom) / 2, (margin.top + bottom) / 2, escape(yLabel))
        return svg
    }

    /// The data range with 8% room on each side (a single value gets ±1).
    static func padded(_ values: [Double]) -> (lo: Double, hi: Double) {
        let lo = values.min()!, hi = values.max()!
        if hi - lo < 1e-12 { return (lo - 1, hi + 1) }
        let pad = (hi - lo) * 0.08
        return (lo - pad, hi + pad)
    }

    /// About six round tick values in [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 6, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return stride(from: (lo / step).rounded(.up) * step, through: hi, by: step).map { $0 }
    }

    static func format(_ x: Double) -> String {
        let x = x + 0  // −0 (a tick stepped up from below zero) prints as 0
        return abs(x) >= 100 || x == x.rounded() ? String(format: "%.0f", x) : String(format: "%.3g", x)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
