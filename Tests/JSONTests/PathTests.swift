import XCTest
@testable import JSON

/// How locations inside a document are written in messages.
final class PathTests: XCTestCase {
    func testRoot() {
        XCTAssertEqual(JSONPath.root.description, "(root)")
        XCTAssertEqual(JSONPath().description, "(root)")
        XCTAssertTrue(JSONPath.root.components.isEmpty)
    }

    func testKeysAndIndices() {
        let path = JSONPath.root.appending("nodes").appending("merged").appending("params")
            .appending("weights").appending(1)
        XCTAssertEqual(path.description, "nodes.merged.params.weights[1]")
        XCTAssertEqual(path.components.last, .index(1))
        XCTAssertEqual(JSONPath.root.appending(0).appending("name").description, "[0].name")
        XCTAssertEqual(JSONPath.root.appending(2).appending(3).description, "[2][3]")
        XCTAssertEqual(JSONPath.root.appending("a_b-c").appending("0").description, "a_b-c.0")
        XCTAssertEqual(JSONPath.root.appending("größe").description, "größe")
    }

    func testOddKeysAreQuoted() {
        XCTAssertEqual(JSONPath.root.appending("odd key").description, #"["odd key"]"#)
        XCTAssertEqual(JSONPath.root.appending("a").appending("b.c").appending("d").description, #"a["b.c"].d"#)
        XCTAssertEqual(JSONPath.root.appending("").description, #"[""]"#)
        XCTAssertEqual(JSONPath.root.appending("x[0]").description, #"["x[0]"]"#)
        XCTAssertEqual(JSONPath.root.appending("a]").description, #"["a]"]"#)
        XCTAssertEqual(JSONPath.root.appending("say \"hi\"").description, #"["say \"hi\""]"#)
        XCTAssertEqual(JSONPath.root.appending("tab\there").description, #"["tab\there"]"#)
        XCTAssertEqual(JSONPath.root.appending("list").appending("k v").appending(4).description, #"list["k v"][4]"#)
    }

    func testValueSemanticsAndHashing() {
        let base = JSONPath.root.appending("a")
        let left = base.appending(1)
        let right = base.appending("1")
        XCTAssertEqual(base.description, "a", "appending does not change the original")
        XCTAssertNotEqual(left, right)
        XCTAssertEqual(left, JSONPath([.key("a"), .index(1)]))
        XCTAssertEqual(Set([left, right, JSONPath([.key("a"), .index(1)])]).count, 2)
    }
}
