import Foundation
import JSON
import Model

let generateCommand = Command(
    name: "generate",
    summary: "continue a prompt with a model (greedy or sampled, KV cache)",
    help: """
    usage: mergeflow generate MODEL --prompt TEXT [--max-tokens N] [--temperature T] [--seed S]
                              [--raw] [--no-stop] [--json] [--cache PATH] [--threads N]

    \(ModelSupport.help)

    By default the prompt is wrapped as an instruction (<bop> TEXT <boa>) and the answer is
    printed. --raw feeds the UTF-8 bytes of TEXT exactly, with no special tokens.
    Generation stops at the end token (<end>) unless --no-stop. --temperature 0 (default)
    is greedy; above 0 it samples, seeded by --seed. --json prints the token ids, the text,
    and how many prompt tokens were dropped to fit the context.
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(["--prompt", "--max-tokens", "--temperature", "--seed"]),
                                 flags: ["--raw", "--json", "--no-stop"])
        let p = try args.positionals("MODEL")
        guard let prompt = args.value("--prompt") else { throw UsageError("--prompt TEXT is required") }
        let model = try ModelSupport.load(p[0], args: args)
        let promptTokens = args.has("--raw") ? model.tokenizer.encode(prompt) : model.tokenizer.promptTokens(prompt)
        if promptTokens.isEmpty { throw UsageError("--prompt is empty (with --raw there is nothing to continue)") }
        guard let temperature = Double(args.value("--temperature") ?? "0"), temperature >= 0, temperature.isFinite else {
            throw UsageError("--temperature must be a number ≥ 0")
        }
        let options = Generator.Options(
            maxTokens: try args.integer("--max-tokens", default: 64, in: 1...1_000_000),
            temperature: temperature,
            seed: UInt64(try args.integer("--seed", default: 0, in: 0...Int(Int32.max))),
            stopAtEnd: !args.has("--no-stop"))
        let output = Generator.generate(model: model, prompts: [promptTokens], options: options)
        let tokens = output.tokens[0]
        if args.has("--json") {
            let json = JSONValue.object(JSONObject([
                ("prompt_tokens", .array(promptTokens.map { .number(Double($0)) })),
                ("tokens", .array(tokens.map { .number(Double($0)) })),
                ("text", .string(model.tokenizer.decode(tokens))),
                ("truncated_prompt_tokens", .number(Double(output.truncated[0]))),
            ]))
            print(json.serialized(pretty: false))
        } else {
            print(model.tokenizer.decode(tokens))
            if output.truncated[0] > 0 {
                print("note: the first \(output.truncated[0]) prompt tokens were dropped to fit the context", to: &standardError)
            }
        }
        return 0
    }
)
