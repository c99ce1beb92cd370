/// One item of a dataset: an instruction (prompt) with its answer, tagged with the language
/// and the objective it serves ("general", "safety", …). `rejected` is a worse answer, for
/// preference training (DPO). Items that are translations of each other share an `id`, so a
/// split by id keeps every translation of a test item out of training.
public struct Example: Sendable, Equatable {
    public var id: String
    public var lang: String
    public var objective: String
    public var prompt: String
    public var answer: String
    public var rejected: String?

    public init(id: String, lang: String, objective: String, prompt: String, answer: String, rejected: String? = nil) {
        self.id = id
        self.lang = lang
        self.objective = objective
        self.prompt = prompt
        self.answer = answer
        self.rejected = rejected
    }
}
