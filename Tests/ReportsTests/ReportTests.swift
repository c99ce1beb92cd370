import Foundation
import FoundationXML
import Evaluation
import Reports
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
