//! Every composed shader parses and validates with naga, with the override
//! values the host uses, and every uniform struct the host uploads matches
//! its WGSL twin field for field (name, order, offset, type) as naga
//! reflects it: no GPU needed (docs/ARCHITECTURE.md, Testing).

use super::kernels::{Kernel, Specialization};
use super::params::{DispatchParams, Field, FusedAxis, FusedParams, WgslStruct, WgslType};
use super::types::{InputKind, Real, Stored};

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
                    for (
                        non_uniform,
                        edge_order,
                        magnitude,
                        axes,
                        non_uniform_axes,
                        accuracy,
                        periodic_axes,
                    ) in [
                        (false, 1, false, 1, 0, 2, 0),
                        (true, 2, true, 8, 0b1010_0101, 2, 0b0100_0001),
                        (true, 1, false, 4, 0b0110, 4, 0),
                        (false, 2, false, 3, 0b111, 6, 0b101),
                        (true, 1, true, 2, 0b10, 4, 0b11),
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
                            accuracy: if fused { accuracy } else { 2 },
                            periodic_axes: if fused { periodic_axes } else { 0 },
                        });
                        count += 1;
                    }
                }
            }
        }
    }
    assert_eq!(count, 4 * 11 * 3 * 2 * 5);
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

/// One field as compared: name, byte offset, WGSL type spelled out.
type Described = (String, usize, String);

/// The host fields of `S`, their types spelled as WGSL spells them with
/// `Real` the compute type `real`.
fn host_fields(fields: &[Field], real: Real) -> Vec<Described> {
    let real = match real {
        Real::F32 => "f32",
        Real::F64 => "f64",
    };
    fields
        .iter()
        .map(|f| {
            let ty = match f.ty {
                WgslType::U32 => "u32".to_string(),
                WgslType::Vec4U32 => "vec4<u32>".to_string(),
                WgslType::RealVec4Array(n) => format!("array<vec4<{real}>, {n}>"),
                WgslType::StructArray(s, n) => format!("array<{s}, {n}>"),
            };
            (f.name.to_string(), f.offset, ty)
        })
        .collect()
}

/// A naga type spelled as WGSL spells it.
fn wgsl_type(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    let scalar = |s: naga::Scalar| match (s.kind, s.width) {
        (naga::ScalarKind::Uint, 4) => "u32".to_string(),
        (naga::ScalarKind::Sint, 4) => "i32".to_string(),
        (naga::ScalarKind::Float, 2) => "f16".to_string(),
        (naga::ScalarKind::Float, 4) => "f32".to_string(),
        (naga::ScalarKind::Float, 8) => "f64".to_string(),
        other => format!("{other:?}"),
    };
    match &module.types[ty].inner {
        naga::TypeInner::Scalar(s) => scalar(*s),
        naga::TypeInner::Vector { size, scalar: s } => {
            format!("vec{}<{}>", *size as u8, scalar(*s))
        }
        naga::TypeInner::Array {
            base,
            size: naga::ArraySize::Constant(n),
            ..
        } => format!("array<{}, {n}>", wgsl_type(module, *base)),
        naga::TypeInner::Struct { .. } => module.types[ty].name.clone().unwrap_or_default(),
        other => format!("{other:?}"),
    }
}

/// The fields of the WGSL struct `name` in `module` and its size.
fn reflect(module: &naga::Module, name: &str) -> (Vec<Described>, usize) {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, ty)| ty.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name} in the shader"));
    let naga::TypeInner::Struct { members, span } = &ty.inner else {
        panic!("{name} is not a struct");
    };
    let fields = members
        .iter()
        .map(|m| {
            (
                m.name.clone().unwrap_or_default(),
                m.offset as usize,
                wgsl_type(module, m.ty),
            )
        })
        .collect();
    (fields, *span as usize)
}

/// Every difference between the host's fields and the shader's, field by
/// field in order; empty when they match.
fn differences(host: &[Described], wgsl: &[Described]) -> Vec<String> {
    let mut out = Vec::new();
    for k in 0..host.len().max(wgsl.len()) {
        match (host.get(k), wgsl.get(k)) {
            (Some(h), Some(w)) if h == w => {}
            (h, w) => out.push(format!("field {k}: host {h:?}, WGSL {w:?}")),
        }
    }
    out
}

/// Checks the host struct `S` against its twin in `kernel`'s source with
/// `Real` = the compute type of `stored`.
fn check<S: WgslStruct>(kernel: Kernel, stored: Stored) {
    let source = kernel.source(InputKind::F32, stored);
    let module = naga::front::wgsl::parse_str(source).expect("parses");
    let (wgsl, span) = reflect(&module, S::WGSL_NAME);
    let host = host_fields(S::FIELDS, stored.real());
    let diff = differences(&host, &wgsl);
    assert!(
        diff.is_empty(),
        "{} ({stored:?}):\n{}",
        S::WGSL_NAME,
        diff.join("\n")
    );
    // The uniform binding is the host struct's size: it must hold the
    // shader's whole struct.
    assert!(
        span <= std::mem::size_of::<S>(),
        "{}: WGSL {span} bytes, host {}",
        S::WGSL_NAME,
        std::mem::size_of::<S>()
    );
}

#[test]
fn host_parameter_structs_match_their_wgsl_twins_field_by_field() {
    for stored in [Stored::F32, Stored::F64] {
        check::<DispatchParams>(Kernel::Interior, stored);
        check::<DispatchParams>(Kernel::Boundary, stored);
        check::<FusedAxis>(Kernel::Fused, stored);
        check::<FusedParams>(Kernel::Fused, stored);
    }
    // With f64 (`vec4<f64>` constants) the shader's struct is the host's, byte for byte.
    let module =
        naga::front::wgsl::parse_str(Kernel::Fused.source(InputKind::F32, Stored::F64)).unwrap();
    assert_eq!(
        reflect(&module, "Fused").1,
        std::mem::size_of::<FusedParams>()
    );
    assert_eq!(
        reflect(&module, "FusedAxis").1,
        std::mem::size_of::<FusedAxis>()
    );
}

#[test]
fn a_reordered_retyped_moved_or_missing_field_is_a_difference() {
    let module =
        naga::front::wgsl::parse_str(Kernel::Interior.source(InputKind::F32, Stored::F32)).unwrap();
    let (wgsl, _) = reflect(&module, "Dispatch");
    let host = host_fields(DispatchParams::FIELDS, Real::F32);
    assert!(differences(&host, &wgsl).is_empty());

    let mut reordered = DispatchParams::FIELDS.to_vec();
    let (a, b) = (reordered[2].name, reordered[3].name);
    (reordered[2].name, reordered[3].name) = (b, a);
    let diff = differences(&host_fields(&reordered, Real::F32), &wgsl);
    assert_eq!(diff.len(), 2, "{diff:?}");
    assert!(
        diff[0].contains("\"inner\"") && diff[0].contains("\"n\""),
        "{diff:?}"
    );

    let mut retyped = DispatchParams::FIELDS.to_vec();
    retyped[5].ty = WgslType::Vec4U32;
    let diff = differences(&host_fields(&retyped, Real::F32), &wgsl);
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(diff[0].contains("vec4<u32>"), "{diff:?}");

    let mut moved = DispatchParams::FIELDS.to_vec();
    moved[7].offset += 4;
    assert_eq!(differences(&host_fields(&moved, Real::F32), &wgsl).len(), 1);

    let missing = &DispatchParams::FIELDS[..11];
    assert_eq!(
        differences(&host_fields(missing, Real::F32), &wgsl).len(),
        1
    );

    // The compute type counts: f64 constants against an f32 shader differ.
    let module =
        naga::front::wgsl::parse_str(Kernel::Fused.source(InputKind::F32, Stored::F32)).unwrap();
    let (wgsl, _) = reflect(&module, "Fused");
    assert!(differences(&host_fields(FusedParams::FIELDS, Real::F32), &wgsl).is_empty());
    assert_eq!(
        differences(&host_fields(FusedParams::FIELDS, Real::F64), &wgsl).len(),
        1
    );
}
