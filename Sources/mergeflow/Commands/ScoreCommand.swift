import Foundation
import JSON
import Model

let scoreCommand = Command(
    name: "score",
    summary: "per-token negative log-likelihood of a text under a model",
    help: """
    usage: mergeflow score MODEL --text TEXT [--prompt TEXT] [--raw] [--json [--logits]] [--cache PATH] [--threads N]

    \(ModelSupport.help)

    By default TEXT is scored as the answer to --prompt (empty if not given): the sequence
    is <bop> PROMPT <boa> TEXT <end> and the scored tokens are TEXT's bytes and <end>.
    --raw scores the UTF-8 bytes of TEXT exactly, with no special tokens: every byte after
    the first. Prints the mean NLL in nats per token and in bits per byte; --json prints
    the token ids, the scored ids, each one's NLL, and the mean; with --logits also the
    logits of every position that predicts a next token ((T − 1) × vocabulary; row t predicts
    token t + 1), for comparisons with other implementations.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(["--text", "--prompt"]), flags: ["--raw", "--json", "--logits"])
        let p = try args.positionals("MODEL")
        guard let text = args.value("--text") else { throw UsageError("--text TEXT is required") }
        if args.has("--raw") && args.value("--prompt") != nil { throw UsageError("--prompt has no meaning with --raw") }
        let model = try ModelSupport.load(p[0], args: args)
        let tokens: [Int32], firstScored: Int
        if args.has("--raw") {
            tokens = model.tokenizer.encode(text)
            firstScored = 1
        } else {
            let prompt = model.tokenizer.promptTokens(args.value("--prompt") ?? "")
            tokens = prompt + model.tokenizer.encode(text) + [ByteTokens.end]
            firstScored = prompt.count
        }
        guard tokens.count >= 2 else { throw UsageError("--raw needs at least 2 bytes of text to score") }
        guard tokens.count <= model.config.context + 1 else {
            throw UsageError("the sequence has \(tokens.count) tokens; this model's context holds \(model.config.context + 1)")
        }
        let all = Scorer.score(model: model, sequences: [tokens])[0]   // all[i] scores tokens[i + 1]
        let v = model.config.vocabulary
        let logits = args.has("--logits") ? (0..<(tokens.count - 1)).map { Array(model.logits[($0 * v)..<(($0 + 1) * v)]) } : []
        let scored = Array(all[(firstScored - 1)...])
        let mean = scored.reduce(0.0) { $0 + Double($1) } / Double(scored.count)
        if args.has("--json") {
            var members: [(String, JSONValue)] = [
                ("tokens", .array(tokens.map { .number(Double($0)) })),
                ("scored", .array(tokens[firstScored...].map { .number(Double($0)) })),
                ("nll", .array(scored.map { .number(Double($0)) })),
                ("mean", .number(mean)),
            ]
            // Position t's logits predict tokens[t + 1].
            if !logits.isEmpty { members.append(("logits", .array(logits.map { .array($0.map { .number(Double($0)) }) }))) }
            let json = JSONValue.object(JSONObject(members))
            print(json.serialized(pretty: false))
        } else {
            if model.tokenizer.isBytes {
                print(String(format: "%.4f nats/token (%.4f bits/byte) over %d tokens", mean, mean / log(2), scored.count))
            } else {
                let bytes = max(1, model.tokenizer.byteCount(tokens[firstScored...]))
                let bitsPerByte = mean * Double(scored.count) / Double(bytes) / log(2)
                print(String(format: "%.4f nats/token (%.4f bits/byte of text) over %d tokens, %d bytes", mean, bitsPerByte, scored.count, bytes))
            }
        }
        return 0
    }
)
