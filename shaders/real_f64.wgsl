// Compute-type prelude for the f64 kernels (needs the SHADER_F64 device
// feature; naga needs no `enable` directive for f64). See real_f32.wgsl for
// how the preludes are composed with the kernel bodies.
alias Real = f64;
