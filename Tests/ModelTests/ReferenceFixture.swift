import Checkpoint
import Foundation
import JSON
import Model
import Numerics
import XCTest

/// The PyTorch / transformers reference in `Fixtures/` (made by
/// `scripts/reference/make_gpt2_reference.py`; see its README for every convention).
struct ReferenceFixture {
    let config: GPT2Config
    let tiny: CheckpointFolder
    let reference: SafetensorsFile
    let tolerances: [String: Double]
    let batch: Int, time: Int

    static func load() throws -> ReferenceFixture {
        let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
        let tiny = try CheckpointFolder(path: root + "/tiny")
        let config = try XCTUnwrap(GPT2Config(huggingFace: try XCTUnwrap(tiny.config)))
        let reference = try SafetensorsFile(path: root + "/reference.safetensors")
        let json = try JSONValue.parse(contentsOf: root + "/tolerances.json")
        var tolerances: [String: Double] = [:]
        for key in try XCTUnwrap(json.objectValue).keys { tolerances[key] = json.objectValue?[key]?.doubleValue }
        let shape = try XCTUnwrap(reference.entry(named: "tokens")).shape
        return ReferenceFixture(config: config, tiny: tiny, reference: reference, tolerances: tolerances,
                                batch: shape[0], time: shape[1])
    }

    static var fixturesPath: String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path }

    /// A model holding the `tiny/` weights.
    func model() throws -> GPT2 { try loadModel(folder: ReferenceFixture.fixturesPath + "/tiny") }

    func tensor(_ name: String) throws -> Tensor {
        reference.loadTensor(try XCTUnwrap(reference.entry(named: name), "reference lacks \(name)"))
    }

    /// A float tensor of ids as Int32.
    func ids(_ name: String) throws -> [Int32] { try tensor(name).storage.map { Int32($0) } }
}

/// A model from a Hugging Face layout folder (config.json + model.safetensors).
func loadModel(folder path: String) throws -> GPT2 {
    let folder = try CheckpointFolder(path: path)
    let model = GPT2(config: try XCTUnwrap(GPT2Config(huggingFace: try XCTUnwrap(folder.config))))
    for name in model.parameters.names {
        let location = try XCTUnwrap(folder.tensor(named: name), "\(path) lacks \(name)")
        let dst = try XCTUnwrap(model.parameters.tensor(named: name))
        location.file.loadTensor(location.entry).withUnsafeBufferPointer { _ = dst.initialize(from: $0) }
    }
    return model
}

/// Asserts max|a − r| ≤ tol · max|r| and names the worst element when it fails.
func assertClose(_ actual: UnsafeBufferPointer<Float>, _ expected: [Float], tolerance: Double, _ name: String,
                 relativeTo scaleValues: [Float]? = nil, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(name): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    let scale = Double((scaleValues ?? expected).map(abs).max() ?? 0)
    var worst = 0, worstError = -1.0
    for i in expected.indices {
        let e = abs(Double(actual[i]) - Double(expected[i]))
        if e > worstError || e.isNaN { worst = i; worstError = e.isNaN ? .infinity : e }
    }
    let bound = tolerance * scale
    XCTAssert(worstError <= bound,
              "\(name): worst element [\(worst)] is \(actual[worst]), reference \(expected[worst]); error \(worstError) > \(tolerance) × \(scale) = \(bound)",
              file: file, line: line)
}
