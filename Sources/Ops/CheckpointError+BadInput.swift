import Checkpoint
import Engine

/// A checkpoint that cannot be read is bad input (exit 2), not failed work.
extension CheckpointError: BadInputError {}
