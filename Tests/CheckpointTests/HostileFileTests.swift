import XCTest
@testable import Checkpoint
@testable import Store

/// Every malformed safetensors file is rejected on open with a message naming the file and
/// (where there is one) the tensor. None of them may crash.
final class HostileFileTests: XCTestCase {
    func expectRejected(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil,
                        tensor: String?, mentions: String, line: UInt = #line) throws {
        let folder = try TestFolder()
        let path = try folder.safetensors("bad.safetensors", header: header, data: data, headerLength: headerLength)
        XCTAssertThrowsError(try SafetensorsFile(path: path), line: line) { error in
            guard let e = error as? CheckpointError else { return XCTFail("not a CheckpointError: \(error)", line: line) }
            XCTAssertEqual(e.file, path, line: line)
            XCTAssertEqual(e.tensor, tensor, "\(e)", line: line)
            XCTAssertTrue(e.description.contains(mentions), "message \"\(e)\" lacks \"\(mentions)\"", line: line)
            XCTAssertTrue(e.description.hasPrefix(path), line: line)
        }
        // The same file through the folder loader and the store import fails the same way
        // and stores nothing.
        let cache = try Store(path: folder.path("c.sqlite"))
        XCTAssertThrowsError(try cache.importCheckpoint(at: path), line: line)
        XCTAssertEqual(try cache.status().chunkCount, 0, line: line)
    }

    let good = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    func testAcceptsTheWellFormedBaseline() throws {
        let folder = try TestFolder()
        let path = try folder.safetensors("ok.safetensors", header: good, data: [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(try SafetensorsFile(path: path).entries.map(\.name), ["w"])
    }

    func testFileTooShort() throws {
        let folder = try TestFolder()
        let path = folder.path("short.safetensors")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertTrue("\($0)".contains("too short"), "\($0)") }
        let empty = folder.path("empty.safetensors")
        try Data().write(to: URL(fileURLWithPath: empty))
        XCTAssertThrowsError(try SafetensorsFile(path: empty)) { XCTAssertTrue("\($0)".contains("too short"), "\($0)") }
    }

    func testHeaderLengthPastEndOfFile() throws {
        try expectRejected(good, data: [UInt8](repeating: 0, count: 8), headerLength: 10_000, tensor: nil, mentions: "runs past the end of the file")
        try expectRejected(good, data: [UInt8](repeating: 0, count: 8), headerLength: UInt64.max, tensor: nil, mentions: "runs past the end of the file")
    }

    func testInvalidJSON() throws {
        try expectRejected(#"{"w":{"dtype":"F32",}}"#, tensor: nil, mentions: "header is not valid JSON: line 1, column")
        try expectRejected("[1,2]", tensor: nil, mentions: "header is a JSON array, expected an object")
        try expectRejected(#"{"__metadata__": 3}"#, tensor: nil, mentions: "__metadata__ is a number")
        try expectRejected(#"{"w": 3}"#, tensor: "w", mentions: "entry is a number")
    }

    func testOffsetsOutOfRange() throws {
        try expectRejected(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 8),
                           tensor: "w", mentions: "run past the 8-byte data section")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: [UInt8](repeating: 0, count: 8),
                           tensor: "w", mentions: "end before they begin")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: [UInt8](repeating: 0, count: 8),
                           tensor: "w", mentions: "two non-negative integers")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, tensor: "w", mentions: "two non-negative integers")
    }

    func testOverlappingAndGappedData() throws {
        try expectRejected(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                           data: [UInt8](repeating: 0, count: 12), tensor: "b", mentions: "overlaps tensor \"a\"")
        try expectRejected(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                           data: [UInt8](repeating: 0, count: 12), tensor: "b", mentions: "gap of 4 bytes")
        try expectRejected(good, data: [UInt8](repeating: 0, count: 12), tensor: nil, mentions: "4 bytes after the last tensor")
    }

    func testShapeTimesDtypeMustMatchByteLength() throws {
        try expectRejected(#"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8),
                           tensor: "w", mentions: "shape [3] × F16 is 6 bytes but data_offsets [0, 8] span 8")
    }

    func testShapeProductOverflow() throws {
        try expectRejected(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#,
                           tensor: "w", mentions: "overflows")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}}"#, tensor: "w", mentions: "not a non-negative integer")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#, tensor: "w", mentions: "not a non-negative integer")
    }

    func testUnknownAndUnsupportedDtypes() throws {
        try expectRejected(#"{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}"#, data: [0], tensor: "w", mentions: "unknown dtype \"Q7\"")
        try expectRejected(#"{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8),
                           tensor: "w", mentions: "dtype I64 is not supported")
        try expectRejected(#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0], tensor: "w", mentions: "missing or non-string \"dtype\"")
        try expectRejected(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#, data: [0, 0, 0, 0], tensor: "w", mentions: "unknown field \"extra\"")
    }

    func testDuplicateNames() throws {
        try expectRejected(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                           data: [UInt8](repeating: 0, count: 8), tensor: nil, mentions: "duplicate key \"w\"")
    }

    func testMissingFileAndFolderWithoutWeights() throws {
        let folder = try TestFolder()
        XCTAssertThrowsError(try CheckpointFolder(path: folder.path("nope"))) { XCTAssertTrue("\($0)".contains("no such file or folder")) }
        XCTAssertThrowsError(try CheckpointFolder(path: folder.url.path)) {
            XCTAssertTrue("\($0)".contains("no model.safetensors or model.safetensors.index.json"), "\($0)")
        }
    }

    func testShardIndexThatDisagreesWithItsShards() throws {
        let folder = try TestFolder()
        try folder.safetensors("a.safetensors", header: good, data: [UInt8](repeating: 0, count: 8))
        try Data(#"{"weight_map":{"w":"a.safetensors","v":"a.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: folder.path("model.safetensors.index.json")))
        XCTAssertThrowsError(try CheckpointFolder(path: folder.url.path)) { error in
            let e = error as? CheckpointError
            XCTAssertEqual(e?.tensor, "v")
            XCTAssertTrue("\(error)".contains("listed in model.safetensors.index.json but missing"), "\(error)")
        }
        try Data(#"{"weight_map":{}}"#.utf8).write(to: URL(fileURLWithPath: folder.path("model.safetensors.index.json")))
        try Data(#"{"weight_map":{"w":"../a.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: folder.path("model.safetensors.index.json")))
        XCTAssertThrowsError(try CheckpointFolder(path: folder.url.path)) { XCTAssertTrue("\($0)".contains("is not a file in this folder"), "\($0)") }
    }
}
