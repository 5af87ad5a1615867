//! Exit codes of squall's commands: the verdict, or an error.

/// Valid.
pub const VALID: i32 = 0;
/// Invalid: an anomaly was found.
pub const INVALID: i32 = 1;
/// Unknown: the checker ran out of budget, or the run was cut short.
pub const UNKNOWN: i32 = 2;
/// Error: bad input, or a setup failure.
pub const ERROR: i32 = 3;
