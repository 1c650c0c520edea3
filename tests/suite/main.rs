//! The library's tests, in one binary: one link, and one shared GPU
//! context per kind, instead of one of each per file. Each module is one
//! subject (its own doc says what it checks); `common` and `gpu_common`
//! hold the helpers they share.
//!
//! `tests/gpu_adapter_env.rs` stays a binary of its own: it sets an
//! environment variable every GPU context of its process reads.

mod common;
mod gpu_common;

mod block;
mod complex;
mod cpu_properties;
mod errors;
mod fixtures;
mod gpu;
mod gpu_compact;
mod gpu_errors;
mod gpu_measure;
mod gpu_numerics;
mod gpu_resident;
mod gpu_strided;
mod input_types;
mod integer_conversion;
mod into;
mod magnitude;
mod numerics;
mod numpy_dtypes;
mod numpy_testgradient;
