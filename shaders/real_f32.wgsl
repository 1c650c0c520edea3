// Type prelude for the f32 kernels.
//
// WGSL `override` constants cannot change a type, so each kernel body is
// written against `Real` and composed at compile time with one of two fixed
// preludes: `concat!(include_str!("real_f32.wgsl"), include_str!("dispatch.wgsl"),
// include_str!("<kernel>.wgsl"))` in src/gpu/kernels.rs. Nothing is generated
// or substituted: the composed source is these files, verbatim, in order.
alias Real = f32;
