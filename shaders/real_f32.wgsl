// Compute-type prelude for the f32 kernels.
//
// WGSL `override` constants cannot change a type, so each kernel body is
// written against `Real` (the type it computes in), `Stored` (the type it
// writes) and `sample(k)` (the input, widened to `Real`), and composed at
// compile time from fixed files: an output prelude (output_*.wgsl), a Real
// prelude (real_*.wgsl), an input prelude (input_*.wgsl), common.wgsl, and the
// kernel's own files, with `concat!(include_str!(..), ..)` in
// src/gpu/kernels.rs. Nothing is generated or substituted: the composed
// source is these files, verbatim, in order.
alias Real = f32;
