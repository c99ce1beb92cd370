import Foundation
import FoundationXML
import Evaluation
@testable import Reports
import XCTest

final class ReportTests: XCTestCase {
    /// Two seeds of a mix, one merge, one dominated merge; two languages; one stage.
    func metrics() -> [LabeledMetric] {
        var out: [LabeledMetric] = []
        func add(_ variant: String, _ seed: String, _ lang: String, _ metric: String, _ value: Double) {
            out.append(LabeledMetric(variant: variant, stage: "eval", seed: seed, lang: lang,
                                     objective: metric.hasPrefix("harm") ? "safety" : "general", metric: metric, value: value, n: 10))
        }
        for (seed, harm, win) in [("seed=1", -40.0, 0.50), ("seed=2", -50.0, 0.60)] {
            add("mix[safety=0.15]", seed, "all", "harm_change_pct", harm)
            add("mix[safety=0.15]", seed, "all", "win_rate", win)
            add("mix[safety=0.15]", seed, "en", "harm_change_pct", harm + 5)
            add("mix[safety=0.15]", seed, "fr", "harm_change_pct", harm - 5)
        }
        add("merged[method=ties]", "", "all", "harm_change_pct", -30)
        add("merged[method=ties]", "", "all", "win_rate", 0.7)
        add("merged[method=linear]", "", "all", "harm_change_pct", -20)   // worse on both than ties
        add("merged[method=linear]", "", "all", "win_rate", 0.65)
        add("merged[method=linear]", "", "en", "harm_change_pct", -10)
        return out
    }

    func testSeedsAreSummarisedAsMeanAndStudentInterval() throws {
        let table = ReportTable(metrics())
        XCTAssertEqual(table.variants, ["mix[safety=0.15]", "merged[method=ties]", "merged[method=linear]"])
        XCTAssertEqual(table.languages, ["en", "fr"])
        let s = try XCTUnwrap(table.summary(variant: "mix[safety=0.15]", stage: "eval", metric: "harm_change_pct"))
        XCTAssertEqual(s.mean, -45)
        XCTAssertEqual(s.count, 2)
        // s = 7.0711, t(0.975, 1) = 12.706: half-width = 12.706 · 7.0711 / √2 = 63.53
        XCTAssertEqual(try XCTUnwrap(s.halfWidth95), 63.53, accuracy: 0.01)
        XCTAssertNil(table.summary(variant: "merged[method=ties]", stage: "eval", metric: "harm_change_pct")?.halfWidth95)
        XCTAssertNil(table.summary(variant: "merged[method=ties]", stage: "other", metric: "win_rate"))
    }

    func testParetoFrontKeepsOnlyUndominatedVariants() {
        let front = ReportTable(metrics()).paretoFront(stage: "eval")
        // mix: harm −45, win 0.55; ties: −30, 0.70; linear: −20, 0.65 (dominated by ties).
        XCTAssertEqual(front, ["mix[safety=0.15]", "merged[method=ties]"])
    }

    func testMarkdownHasTheTableOneShapeAndPerLanguageCells() {
        let md = MarkdownReport.render(ReportTable(metrics()), title: "T", notes: ["judge rule"])
        XCTAssertTrue(md.contains("| variant | eval: harm Δ% | eval: win-rate % |"), md)
        XCTAssertTrue(md.contains("| `mix[safety=0.15]` | -45.0 ± 63.5 ★ | 55.0 ± 63.5 |"), md)
        XCTAssertTrue(md.contains("| `merged[method=linear]` | -20.0 | 65.0 |"), md)
        XCTAssertTrue(md.contains("| `merged[method=linear]` | -10.0 / – | – / – |"), md)
        XCTAssertTrue(md.contains("- judge rule"), md)
    }

    func testCSVAndJSONLinesQuoteAndRoundTrip() throws {
        let rows = [LabeledMetric(variant: "merged[weights=0.5,0.5]", stage: "eval", seed: "", lang: "fr",
                                  objective: "general", metric: "chrf", value: 12.5, n: 3)]
        XCTAssertEqual(DelimitedExport.csv(rows),
                       "variant,stage,seed,lang,objective,metric,value,n\n\"merged[weights=0.5,0.5]\",eval,,fr,general,chrf,12.5,3\n")
        let line = DelimitedExport.jsonLines(rows)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["variant"] as? String, "merged[weights=0.5,0.5]")
        XCTAssertEqual(object["value"] as? Double, 12.5)
    }

    /// Every SVG in the page is well-formed XML, and the page names every variant.
    func testHTMLPageHoldsWellFormedSVGPlots() throws {
        let html = HTMLReport.render(ReportTable(metrics()), title: "A <report>", notes: [])
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<title>A &lt;report&gt;</title>"))
        let svgs = html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        XCTAssertEqual(svgs.count, 2, "a scatter and a bar chart for the one stage")
        for svg in svgs {
            let parser = XMLParser(data: Data(svg.utf8))
            XCTAssertTrue(parser.parse(), "SVG not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        }
        for v in ["mix[safety=0.15]", "merged[method=ties]", "merged[method=linear]"] { XCTAssertTrue(html.contains(v), v) }
        XCTAssertEqual(html.components(separatedBy: "<circle").count - 1, 3, "one point per variant")
    }

    /// A sweep of three mixes over two seeds, a two-point merge sweep, and an endpoint.
    func tradeoffMetrics() -> [LabeledMetric] {
        var out: [LabeledMetric] = []
        func add(_ variant: String, _ seed: String, harmful: Double, chrf: Double) {
            out.append(LabeledMetric(variant: variant, stage: "SFT", seed: seed, lang: "all", objective: "safety",
                                     metric: "harmful_rate", value: harmful, n: 100))
            out.append(LabeledMetric(variant: variant, stage: "SFT", seed: seed, lang: "all", objective: "general",
                                     metric: "chrf", value: chrf, n: 100))
        }
        for (seed, shift) in [("seed=1", 0.0), ("seed=2", 2.0)] {
            add("mix[mix=0.05]", seed, harmful: 0.6, chrf: 30 + shift)
            add("mix[mix=0.5]", seed, harmful: 0.3, chrf: 25 + shift)
            add("mix[mix=0.15]", seed, harmful: 0.5, chrf: 29 + shift)
        }
        add("linear[weights=0.9,0.1]", "", harmful: 1.0, chrf: 31)
        add("linear[weights=0.1,0.9]", "", harmful: 0.2, chrf: 7)
        add("safety", "", harmful: 0.1, chrf: 6)
        out.append(LabeledMetric(variant: "winrate-only", stage: "SFT", seed: "", lang: "all", objective: "general",
                                 metric: "win_rate", value: 0.5, n: 10))
        return out
    }

    /// Families come from the name before "[", keep the report's order, carry the table's
    /// intervals (over seeds for the mixes, Wilson over items for a single run's rate), and
    /// leave out variants without both metrics.
    func testTradeoffFamiliesFollowGridNamesAndCarryIntervals() throws {
        let table = ReportTable(tradeoffMetrics())
        let families = TradeoffPlot.families(table, stage: "SFT")
        XCTAssertEqual(families.map(\.name), ["mix", "linear", "safety"])
        XCTAssertEqual(families[0].points.map(\.label), ["mix[mix=0.05]", "mix[mix=0.5]", "mix[mix=0.15]"])
        let mix = families[0].points[0]
        XCTAssertEqual(mix.x, 60, accuracy: 1e-9)
        XCTAssertEqual(mix.y, 31, accuracy: 1e-9)
        // chrF 30 and 32: s = √2, t(0.975, 1) = 12.706 → half-width 12.706 · √2 / √2.
        XCTAssertEqual(try XCTUnwrap(mix.yHalf), 12.706, accuracy: 0.001)
        XCTAssertEqual(try XCTUnwrap(mix.xHalf), 0, accuracy: 1e-9, "both seeds 60%: no spread")
        let safety = families[2].points[0]
        // One run of 100 items at 10%: Wilson's 95% interval is [5.52%, 17.4%]; the larger side.
        XCTAssertEqual(try XCTUnwrap(safety.xHalf), 7.44, accuracy: 0.01)
        XCTAssertNil(safety.yHalf, "a single run's chrF without an item spread has no interval")
    }

    /// The SVG is well-formed, draws one line per sweep through its points in order, one
    /// point per variant, and is empty of points (but well-formed) when no variant has both.
    func testTradeoffDocumentDrawsOneCurvePerSweep() throws {
        let svg = TradeoffPlot.document(ReportTable(tradeoffMetrics()))
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "SVG not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2, "mix and linear")
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 6)
        // The mix line visits its points in the report's order: x (harmful %) 60, 30, 50.
        let line = try XCTUnwrap(svg.components(separatedBy: "<polyline").dropFirst().first)
        let xs = try line.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
            .split(separator: " ").map { try XCTUnwrap(Double($0.split(separator: ",")[0])) }
        XCTAssertEqual(xs.count, 3)
        XCTAssertTrue(xs[0] > xs[2] && xs[2] > xs[1], "\(xs)")
        XCTAssertTrue(svg.contains(">safety</text>"), "a single variant is labelled at its point")
        // linear 0.9/0.1 sits at the right edge (harmful 100%): were it alone, its label would
        // run off the chart; single points there are labelled to their left.
        var edge = tradeoffMetrics().filter { !$0.variant.hasPrefix("linear") }
        edge.append(LabeledMetric(variant: "general", stage: "SFT", seed: "", lang: "all", objective: "safety",
                                  metric: "harmful_rate", value: 1.0, n: 100))
        edge.append(LabeledMetric(variant: "general", stage: "SFT", seed: "", lang: "all", objective: "general",
                                  metric: "chrf", value: 31, n: 100))
        let edgeSVG = TradeoffPlot.document(ReportTable(edge))
        XCTAssertTrue(edgeSVG.contains("text-anchor=\"end\">general</text>"), edgeSVG)
        XCTAssertFalse(edgeSVG.contains("text-anchor=\"end\">safety</text>"), "a point away from the edge keeps its label on the right")

        XCTAssertEqual(SVGPlot.format(-0.0), "0", "a tick at zero stepped up from below")
        XCTAssertFalse(svg.contains(">-0<"))

        let empty = TradeoffPlot.document(ReportTable(metrics()))
        XCTAssertTrue(XMLParser(data: Data(empty.utf8)).parse())
        XCTAssertFalse(empty.contains("<circle"))
        XCTAssertTrue(empty.contains("no variant has both"))
    }

    func testStageTablesListOnlyTheVariantsOfThatStage() {
        var m = metrics()
        m.append(LabeledMetric(variant: "dpo-only", stage: "DPO", seed: "", lang: "all", objective: "general", metric: "win_rate", value: 0.4, n: 5))
        let table = ReportTable(m)
        XCTAssertEqual(table.stages, ["eval", "DPO"])
        XCTAssertEqual(table.variants(in: "DPO"), ["dpo-only"])
        XCTAssertEqual(table.variants(in: "eval"), ["mix[safety=0.15]", "merged[method=ties]", "merged[method=linear]"])
        let md = MarkdownReport.render(table, title: "T", notes: [])
        let dpoSection = md.components(separatedBy: "## DPO: every metric")[1]
        XCTAssertFalse(dpoSection.contains("mix[safety=0.15]"), dpoSection)
    }
}
