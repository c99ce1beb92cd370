/// A checkpoint that cannot be read, with the file and (where known) the tensor at fault.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let tensor: String?
    public let problem: String

    public init(file: String, tensor: String? = nil, _ problem: String) {
        self.file = file
        self.tensor = tensor
        self.problem = problem
    }

    public var description: String {
        if let tensor { return "\(file): tensor \"\(tensor)\": \(problem)" }
        return "\(file): \(problem)"
    }
}
