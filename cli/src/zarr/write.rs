//! Writing the group OUT.zarr: every chunk of the input's chunk grid
//! computed with its halo through the block API, in parallel, and stored as
//! the same chunk of each output array, with the attributes that record how
//! it was computed; then the group renamed over OUT.zarr.

use super::*;

/// Writes the group OUT.zarr: each chunk of the input's chunk grid computed
/// with its halo, in parallel, its components and magnitude stored as the
/// same chunk of each output array.
pub(super) fn to_zarr<I, C, M>(
    ctx: &Ctx<'_>,
    types: (DataType, DataType),
    component: ComputeMany<'_, I, C>,
    magnitude: ComputeMany<'_, I, M>,
) -> Result<(Vec<String>, Backend), Failure>
where
    I: FromAny + ElementOwned + Send + Sync,
    C: zarrs::array::Element + Send + Sync,
    M: zarrs::array::Element + Send + Sync,
{
    let output = &ctx.args.output;
    let write_error =
        |e: &dyn std::fmt::Display| Failure::new(format!("cannot write output {output:?}: {e}"));
    let shape = &ctx.job.shape;
    let halo = block::halo(shape, &ctx.opts)?;
    let edge = block::min_block(shape, &ctx.opts)?;
    // What one chunk in flight holds: its block, its outputs, their encoding.
    let chunk_elements: u64 = ctx.chunk.iter().map(|&c| c as u64).product();
    // At most the chunk, its halo and the one-sided stencils' samples.
    let block_elements: u64 = (ctx.chunk.iter().zip(&halo).zip(&edge).zip(shape))
        .map(|(((&c, &h), &e), &n)| (c + 2 * h + e).min(n) as u64)
        .product::<u64>()
        .max(chunk_elements);
    let per_chunk = block_elements * ctx.job.input_size as u64
        + chunk_elements * ctx.job.output_size as u64 * (ctx.job.outputs as u64 + 2);
    if memory::BASELINE + per_chunk > ctx.ceiling {
        return Err(too_big(
            ctx,
            memory::BASELINE + per_chunk,
            "one chunk with its halo and outputs",
        ));
    }
    let in_flight = ((ctx.ceiling - memory::BASELINE) / per_chunk)
        .clamp(1, rayon::current_num_threads() as u64) as usize;

    let temp = stream::temporary_dir(output).map_err(|e| {
        write_error(&format!(
            "cannot create a temporary directory beside it: {e}"
        ))
    })?;
    let store = Arc::new(FilesystemStore::new(temp.value.path()).map_err(|e| write_error(&e))?);
    let mut group = zarrs::group::GroupBuilder::new()
        .build(store.clone(), "/")
        .map_err(|e| write_error(&e))?;
    group
        .attributes_mut()
        .insert("ndgrad".into(), attributes(ctx, None));
    group.store_metadata().map_err(|e| write_error(&e))?;
    let shape64: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let chunk64: Vec<u64> = ctx.chunk.iter().map(|&c| c as u64).collect();
    let build = |name: &str, data_type: DataType, attrs: Value| {
        let zero = zarrs::array::FillValue::from(vec![0u8; data_type.fixed_size().unwrap_or(8)]);
        let mut builder = ArrayBuilder::new(shape64.clone(), chunk64.clone(), data_type, zero);
        let mut map = Map::new();
        map.insert("ndgrad".into(), attrs);
        builder.attributes(map);
        let array = builder
            .build(store.clone(), &format!("/{name}"))
            .map_err(|e| write_error(&e))?;
        array.store_metadata().map_err(|e| write_error(&e))?;
        Ok::<_, Failure>(array)
    };
    let mut names = Vec::new();
    let mut components = Vec::new();
    for (j, ax) in ctx.plan.axes.iter().enumerate() {
        let name = format!("axis{}", ax.axis);
        components.push(build(&name, types.0.clone(), attributes(ctx, Some(j)))?);
        names.push(name);
    }
    let magnitude_array = if ctx.args.magnitude && !ctx.plan.axes.is_empty() {
        names.push("magnitude".into());
        Some(build("magnitude", types.1.clone(), attributes(ctx, None))?)
    } else {
        None
    };

    // Every chunk index of the grid, in C order.
    let grid: Vec<u64> = shape
        .iter()
        .zip(&ctx.chunk)
        .map(|(&n, &c)| n.div_ceil(c) as u64)
        .collect();
    let count: u64 = grid.iter().product();
    let index_of = |mut flat: u64| -> Vec<u64> {
        let mut index = vec![0; grid.len()];
        for k in (0..grid.len()).rev() {
            index[k] = flat % grid[k];
            flat /= grid[k];
        }
        index
    };
    let one = |flat: u64, opts: &GradientOptions| -> Result<Backend, Failure> {
        let index = index_of(flat);
        let chunk: Vec<Range<usize>> = index
            .iter()
            .zip(&ctx.chunk)
            .zip(shape)
            .map(|((&i, &c), &n)| (i as usize * c)..((i as usize + 1) * c).min(n))
            .collect();
        // An edge chunk is stored as the part of it inside the array.
        let subset = ArraySubset::new_with_ranges(
            &chunk
                .iter()
                .map(|r| r.start as u64..r.end as u64)
                .collect::<Vec<_>>(),
        );
        let window = block::window(shape, &chunk, &ctx.opts)?;
        let block = ctx.source.read::<I>(&window.read)?;
        let place = window.place;
        let mut backend = opts.backend;
        if !components.is_empty() {
            let (arrays, ran_on) = component(&block, &place, opts)?;
            backend = ran_on;
            for (array, values) in components.iter().zip(arrays) {
                array
                    .store_array_subset(&subset, values)
                    .map_err(|e| write_error(&e))?;
            }
        }
        if let Some(array) = &magnitude_array {
            let opts = opts.clone().backend(backend);
            let (values, _) = magnitude(&block, &place, &opts)?;
            for values in values {
                array
                    .store_array_subset(&subset, values)
                    .map_err(|e| write_error(&e))?;
            }
        }
        Ok(backend)
    };
    // The first chunk resolves the backend; every other one runs there too.
    let mut backend = ctx.opts.backend;
    if count > 0 && !ctx.plan.axes.is_empty() {
        backend = one(0, &ctx.opts)?;
        let opts = ctx.opts.clone().backend(backend);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(in_flight)
            .build()
            .map_err(|e| Failure::new(format!("cannot start worker threads: {e}")))?;
        pool.install(|| {
            (1..count)
                .into_par_iter()
                .try_for_each(|flat| one(flat, &opts).map(drop))
        })?;
    }
    drop((components, magnitude_array, group, store));
    replace_dir(temp, output)?;
    Ok((names, backend))
}

/// What the output records of the job: spacing, edge order, accuracy and
/// boundary of requested axis `j` (all of them for the group and the
/// magnitude).
pub(super) fn attributes(ctx: &Ctx<'_>, j: Option<usize>) -> Value {
    let args = ctx.args;
    let naxes = ctx.plan.axes.len();
    let spacing = |k: usize| -> Value {
        let item = match args.spacing.as_slice() {
            [] => return json!(1.0),
            [one] => one,
            list => &list[k.min(list.len() - 1)],
        };
        match item {
            SpacingItem::Scalar(h) => json!(h),
            SpacingItem::Coordinates(path) => json!({ "coordinates": path.to_string_lossy() }),
        }
    };
    let boundary = |k: usize| -> Value {
        let mode = match args.boundary.as_slice() {
            [] => BoundaryMode::OneSided,
            [one] => *one,
            list => list[k.min(list.len() - 1)],
        };
        json!(match mode {
            BoundaryMode::OneSided => "one-sided",
            BoundaryMode::Periodic => "periodic",
        })
    };
    let axes: Vec<usize> = ctx.plan.axes.iter().map(|ax| ax.axis).collect();
    let (what, ks): (Value, Vec<usize>) = match j {
        Some(j) => (json!(format!("derivative along axis {}", axes[j])), vec![j]),
        None => (
            json!(if args.magnitude {
                "gradient magnitude"
            } else {
                "gradient"
            }),
            (0..naxes).collect(),
        ),
    };
    json!({
        "quantity": what,
        "axes": ks.iter().map(|&k| axes[k]).collect::<Vec<_>>(),
        "spacing": ks.iter().map(|&k| spacing(k)).collect::<Vec<_>>(),
        "boundary": ks.iter().map(|&k| boundary(k)).collect::<Vec<_>>(),
        "period": args.period,
        "edge_order": args.edge_order.get(),
        "accuracy": args.accuracy.get(),
        "input": args.input.to_string_lossy(),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// Renames the finished temporary directory over `output`. An existing
/// zarr hierarchy there is first moved aside into another temporary
/// directory, then removed; the output is never seen half-written.
pub(super) fn replace_dir(
    temp: stream::Temporary<tempfile::TempDir>,
    output: &Path,
) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::new(format!("cannot write output {output:?}: {e}"));
    let old = if output.exists() {
        let aside = stream::temporary_dir(output).map_err(fail)?;
        // Renaming a directory over an empty one replaces it.
        std::fs::rename(output, aside.value.path()).map_err(fail)?;
        Some(aside)
    } else {
        None
    };
    let path = temp.value.path().to_path_buf();
    if let Err(e) = std::fs::rename(&path, output) {
        if let Some(aside) = &old {
            // Put the previous output back.
            let _ = std::fs::rename(aside.value.path(), output);
        }
        return Err(fail(e));
    }
    // The temporary directory is the output now: keep it.
    let _ = temp.value.keep();
    drop(old);
    Ok(())
}
