//! Every composed shader parses and validates with naga, with the override
//! values the host uses: no GPU needed.

use super::kernels::{Kernel, Real, Specialization};

fn validate(spec: &Specialization) {
    let source = spec.kernel.source(spec.real);
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}:\n{}", spec.label(), e.emit_to_string(source)));
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::FLOAT64,
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
fn every_kernel_validates_in_f32_and_f64_with_every_specialisation() {
    let mut count = 0;
    for kernel in Kernel::ALL {
        for real in [Real::F32, Real::F64] {
            for workgroup_size in [1, 64, 256] {
                for non_uniform in [false, true] {
                    for edge_order in [1, 2] {
                        validate(&Specialization {
                            kernel,
                            real,
                            workgroup_size,
                            non_uniform,
                            edge_order,
                        });
                        count += 1;
                    }
                }
            }
        }
    }
    assert_eq!(count, 3 * 2 * 3 * 2 * 2);
}

#[test]
fn f64_kernels_need_the_float64_capability() {
    // The f64 prelude really changes the type: without FLOAT64 the validator refuses it.
    let source = Kernel::Interior.source(Real::F64);
    let module = naga::front::wgsl::parse_str(source).expect("parses");
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    );
    assert!(validator.validate(&module).is_err());
}
