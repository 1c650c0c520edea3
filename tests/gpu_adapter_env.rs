//! Adapter selection from the environment. Alone in its binary because it
//! sets `WGPU_ADAPTER_NAME`, which every context created in the process reads.

use ndgrad::gpu::GpuContext;
use ndgrad::Error;

/// wgpu's own helper panics when `WGPU_ADAPTER_NAME` matches nothing; the
/// context returns an error naming the variable and the adapters it saw.
/// Needs no GPU: with none, the list of adapters is simply empty.
#[test]
fn an_adapter_name_matching_nothing_is_an_error() {
    // SAFETY: this binary's only test, so no other thread reads or writes
    // the environment while it is set.
    unsafe { std::env::set_var("WGPU_ADAPTER_NAME", "No Such Adapter 7f3a") };
    let e = GpuContext::new().unwrap_err();
    let Error::NoAdapter { reason } = &e else {
        panic!("expected NoAdapter, got {e:?}");
    };
    assert!(
        reason.starts_with(
            "WGPU_ADAPTER_NAME=\"no such adapter 7f3a\" matches none of the adapters found ("
        ),
        "{reason}"
    );
    assert_eq!(
        e.to_string(),
        format!("no GPU adapter is available: {reason}; use the CPU or reference backend")
    );
}
