// Output prelude: results are written as f32. Comes first in a composed
// shader (see real_f32.wgsl).
alias Stored = f32;
