// Input prelude: f64 samples (needs SHADER_F64 even when computing in f32).
@group(0) @binding(1) var<storage, read> f: array<f64>;

fn sample(k: u32) -> Real {
    return Real(f[k]);
}
