//! Every composed shader parses and validates with naga, with the override
//! values the host uses: no GPU needed.

use super::kernels::{InputKind, Kernel, Specialization, Stored};

fn validate(spec: &Specialization) {
    let source = spec.source();
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}:\n{}", spec.label(), e.emit_to_string(source)));
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::FLOAT64
            | naga::valid::Capabilities::SHADER_FLOAT16
            | naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
    );
    let info = validator
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {e:?}", spec.label()));
    let mut constants = naga::back::PipelineConstants::default();
    for (name, value) in spec.constants() {
        constants.insert(name.to_string(), value);
    }
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, spec.kernel.entry_point())),
        &constants,
    )
    .unwrap_or_else(|e| panic!("{}: {e:?}", spec.label()));
    // Lowering to SPIR-V (what Vulkan and lavapipe receive) must succeed too.
    naga::back::spv::write_vec(&module, &info, &naga::back::spv::Options::default(), None)
        .unwrap_or_else(|e| panic!("{}: {e:?}", spec.label()));
}

#[test]
fn every_kernel_validates_for_every_input_output_and_specialisation() {
    let mut count = 0;
    for kernel in Kernel::ALL {
        for input in InputKind::ALL {
            for stored in [Stored::F16, Stored::F32, Stored::F64] {
                for workgroup_size in [1, 256] {
                    for (non_uniform, edge_order, magnitude, axes, non_uniform_axes) in [
                        (false, 1, false, 1, 0),
                        (true, 2, true, 8, 0b1010_0101),
                        (true, 1, false, 4, 0b0110),
                        (false, 2, false, 3, 0b111),
                        (true, 1, true, 2, 0b10),
                    ] {
                        let fused = kernel == Kernel::Fused;
                        validate(&Specialization {
                            kernel,
                            input,
                            stored,
                            workgroup_size,
                            non_uniform,
                            edge_order,
                            magnitude,
                            axes: if fused { axes } else { 0 },
                            non_uniform_axes: if fused { non_uniform_axes } else { 0 },
                        });
                        count += 1;
                    }
                }
            }
        }
    }
    assert_eq!(count, 4 * 7 * 3 * 2 * 5);
}

#[test]
fn f64_kernels_need_the_float64_capability() {
    // The f64 prelude really changes the type: without FLOAT64 the validator refuses it.
    let source = Kernel::Interior.source(InputKind::F32, Stored::F64);
    let module = naga::front::wgsl::parse_str(source).expect("parses");
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    assert!(validator.validate(&module).is_err());
}

/// Only core WGSL: `unpack2x16float` (f16 input) is core, though naga files
/// it under SHADER_FLOAT16_IN_FLOAT32, which wgpu grants on every backend
/// but GLES without the extension.
#[test]
fn compact_and_f32_inputs_need_no_optional_capability() {
    for input in InputKind::ALL.into_iter().filter(|&k| k != InputKind::F64) {
        let source = Kernel::Fused.source(input, Stored::F32);
        let module = naga::front::wgsl::parse_str(source).expect("parses");
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32,
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{input:?}: {e:?}"));
    }
}
