// Output prelude: results computed in f32 are written as f16, rounded once
// (needs the SHADER_F16 device feature). The `enable` directive must precede
// every declaration, which is why output preludes come first.
enable f16;
alias Stored = f16;
