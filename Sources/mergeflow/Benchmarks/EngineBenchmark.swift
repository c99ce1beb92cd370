import Checkpoint
import Foundation
import JSON

/// The orchestrator's own overhead on a generated 1,000-instance grid of trivial nodes:
/// a one-tensor checkpoint imported once, merged with 999 different weights. Timed through
/// the binary as a user runs it (process start included): first run, then the median of
/// seven no-op reruns and of seven plans.
enum EngineBenchmark {
    static func run(directory: String, instances: Int = 1000) throws -> [(String, Double)] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let checkpoint = (directory as NSString).appendingPathComponent("tiny.safetensors")
        try SafetensorsWriter.write(to: checkpoint, items: [SafetensorsWriter.Item(name: "w", dtype: .f32, shape: [4])]) { _, b in
            let f = b.bindMemory(to: Float.self)
            for i in 0..<4 { f[i] = Float(i + 1) }
        }
        let weights = (1..<instances).map { i -> JSONValue in
            let w = Double(i) / Double(instances)
            return .array([.number(w), .number(1 - w)])
        }
        let spec = JSONValue.object(JSONObject([
            ("name", "bench-grid"),
            ("nodes", .object(JSONObject([
                ("source", .object(JSONObject([("op", "import"), ("params", .object(JSONObject([("path", "tiny.safetensors")])))]))),
                ("merged", .object(JSONObject([
                    ("op", "merge"),
                    ("inputs", .object(JSONObject([("models", .array(["source", "source"]))]))),
                    ("grid", .object(JSONObject([("weights", .array(weights))]))),
                ]))),
            ]))),
        ]))
        let specPath = (directory as NSString).appendingPathComponent("grid.json")
        try spec.serialized(pretty: true).write(toFile: specPath, atomically: true, encoding: .utf8)
        let cache = (directory as NSString).appendingPathComponent("grid.sqlite")
        func time(_ args: [String]) throws -> Double {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath()
            if !FileManager.default.isExecutableFile(atPath: p.executableURL!.path) {
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            }
            p.arguments = args + ["--cache", cache]
            p.standardOutput = FileHandle.nullDevice
            let start = Stopwatch.now()
            try p.run()
            p.waitUntilExit()
            let seconds = Stopwatch.now() - start
            guard p.terminationStatus == 0 else { throw UsageError("benchmark command failed: mergeflow \(args.joined(separator: " "))") }
            return seconds
        }
        let first = try time(["run", specPath, "--quiet"])
        // Medians of 7: single runs of a 0.1 s command swing with the machine's other load.
        func median(_ args: [String]) throws -> Double { try (0..<7).map { _ in try time(args) }.sorted()[3] }
        let noop = try median(["run", specPath, "--quiet"])
        let plan = try median(["plan", specPath])
        try? FileManager.default.removeItem(atPath: directory)
        return [("first run", first), ("no-op rerun", noop), ("plan", plan)]
    }
}
