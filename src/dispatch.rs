//! Runs a validated [`Plan`] on the chosen backend, for any input type and
//! output type, and either every component or the magnitude, into fresh
//! vectors or into buffers the caller provides.

use ndarray::{ArrayBase, Data, Dimension};

use crate::element::{with_c_order, Element, Input};
use crate::error::Result;
use crate::gpu::HostInput;
use crate::options::Backend;
use crate::plan::{Plan, Request};
use crate::{cpu, gpu, reference};

/// Runs `plan` on `backend` (already resolved, never Auto): one C-ordered
/// vector per requested axis, or one vector holding the magnitude.
pub(crate) fn run<O, I, S, D>(
    backend: Backend,
    plan: &Plan,
    f: &ArrayBase<S, D>,
    request: Request,
) -> Result<Vec<Vec<O>>>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    match backend {
        Backend::Reference => Ok(with_c_order(f, |data| match request {
            Request::Components => reference::gradient(plan, data),
            Request::Magnitude => vec![reference::magnitude(plan, data)],
        })),
        // The CPU reads any input type and layout in place, converting
        // rows as it loads them, and fuses the magnitude into its pass.
        Backend::Cpu => match request {
            Request::Components => cpu::try_gradient(plan, f.view()),
            Request::Magnitude => Ok(vec![cpu::try_magnitude(plan, f.view())?]),
        },
        // The GPU uploads a strided input slab by slab, copying each into C
        // order on its way to the device, never the whole array at once.
        Backend::Gpu => {
            let ctx = gpu::default_context()?;
            ctx.run_plan::<O, I>(plan, &HostInput::of(f), request)
        }
        Backend::Auto => unreachable!("the caller resolves Auto first"),
    }
}

/// [`run`] into `outputs`: one C-ordered buffer of `plan.len()` elements per
/// requested axis, or one for the magnitude. Every element is overwritten.
pub(crate) fn run_into<O, I, S, D>(
    backend: Backend,
    plan: &Plan,
    f: &ArrayBase<S, D>,
    request: Request,
    outputs: &mut [&mut [O]],
) -> Result<()>
where
    O: Element,
    I: Input,
    S: Data<Elem = I>,
    D: Dimension,
{
    match backend {
        // The oracle stays simple: it computes, then the values are copied.
        Backend::Reference => {
            for (out, values) in outputs.iter_mut().zip(run(backend, plan, f, request)?) {
                out.copy_from_slice(&values);
            }
        }
        Backend::Cpu => match request {
            Request::Components => cpu::gradient_into(plan, f.view(), outputs),
            Request::Magnitude => cpu::magnitude_into(plan, f.view(), outputs[0]),
        },
        Backend::Gpu => {
            let ctx = gpu::default_context()?;
            ctx.run_plan_into::<O, I>(plan, &HostInput::of(f), request, outputs)?;
        }
        Backend::Auto => unreachable!("the caller resolves Auto first"),
    }
    Ok(())
}

/// The backend that runs `plan` for `O` results: `requested`, resolved.
/// Every stencil form runs on every backend, so only the element type
/// decides: the plan is taken for the choices still to come.
pub(crate) fn choose_backend<O: Element>(requested: Backend, plan: &Plan) -> Result<Backend> {
    Ok(match resolve_backend(requested)? {
        // Auto never picks a GPU that cannot compute this element type, or
        // a periodic axis 0 that would have to be split into slabs (their
        // ends read planes of the far end, which no slab holds).
        Backend::Gpu
            if requested == Backend::Auto
                && gpu::default_context().is_ok_and(|ctx| {
                    !supports::<O>(ctx) || periodic_axis_0_in_slabs::<O>(ctx, plan)
                }) =>
        {
            auto_fallback()
        }
        other => other,
    })
}

/// Whether `plan` has a periodic axis 0 over more elements than one slab
/// of `ctx` holds (counting the wider of `f32` and `O`, a lower bound of
/// the GPU's element size).
fn periodic_axis_0_in_slabs<O: Element>(ctx: &gpu::GpuContext, plan: &Plan) -> bool {
    let elem = std::mem::size_of::<O>().max(4) as u64;
    plan.axes
        .iter()
        .any(|ax| ax.axis == 0 && ax.stencil.is_periodic())
        && plan.len() as u64 > ctx.limits().max_slab_elements(elem)
}

/// Whether the GPU of `ctx` can compute arrays of `T` (f16 runs in f32).
fn supports<T: Element>(ctx: &gpu::GpuContext) -> bool {
    std::mem::size_of::<T>() != 8 || ctx.supports_f64()
}

/// What [`Backend::Auto`] runs when there is no hardware GPU: the one place
/// that choice is made.
fn auto_fallback() -> Backend {
    Backend::Cpu
}

/// The backend that `requested` runs on in this build and on this machine.
///
/// [`Backend::Gpu`] resolves when a GPU adapter can be had (the default
/// context, [`gpu::default_context`], is created on the first call).
/// [`Backend::Auto`] resolves to the GPU when that adapter is a hardware GPU
/// (not a software one such as lavapipe), and to the fallback otherwise.
///
/// # Errors
///
/// For [`Backend::Gpu`], the error that creating the default GPU context gave
/// (usually [`crate::Error::NoAdapter`]). The other backends always resolve.
pub fn resolve_backend(requested: Backend) -> Result<Backend> {
    match requested {
        Backend::Reference => Ok(Backend::Reference),
        Backend::Cpu => Ok(Backend::Cpu),
        Backend::Gpu => gpu::default_context().map(|_| Backend::Gpu),
        Backend::Auto => Ok(match gpu::default_context() {
            Ok(ctx) if ctx.is_hardware() => Backend::Gpu,
            _ => auto_fallback(),
        }),
    }
}
