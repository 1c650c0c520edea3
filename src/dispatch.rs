//! Runs a validated [`Plan`] on the chosen backend, for any input type and
//! output type, and either every component or the magnitude.

use ndarray::{ArrayBase, Data, Dimension};

use crate::element::{Element, Input};
use crate::error::Result;
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
        Backend::Reference => {
            let data = f.as_standard_layout();
            let data = data
                .as_slice()
                .expect("an array in standard layout is contiguous");
            Ok(match request {
                Request::Components => reference::gradient(plan, data),
                Request::Magnitude => vec![reference::magnitude(plan, data)],
            })
        }
        // The CPU reads any input type and layout in place, converting
        // rows as it loads them, and fuses the magnitude into its pass.
        Backend::Cpu => Ok(match request {
            Request::Components => cpu::gradient(plan, f.view()),
            Request::Magnitude => vec![cpu::magnitude(plan, f.view())],
        }),
        Backend::Gpu => {
            let data = f.as_standard_layout();
            let data = data
                .as_slice()
                .expect("an array in standard layout is contiguous");
            gpu::default_context()?.run_plan::<O, I>(plan, data, request)
        }
        Backend::Auto => unreachable!("the caller resolves Auto first"),
    }
}
