//! Fit times on the CDNOW sample (2 357 customers, weeks, calibration to 1997-09-30).
//! `scripts/bench-clv` runs this beside lifetimes and prints the ratios.

// The same CDNOW loader the tests use, so benchmarks and tests fit identical data.
#[path = "../tests/common/mod.rs"]
mod common;

use clientele_clv::{bgnbd, gamma_gamma, mbgnbd, pareto};
use common::sample;
use criterion::{Criterion, criterion_group, criterion_main};

fn fits(c: &mut Criterion) {
    let data = sample();
    let mut g = c.benchmark_group("fit_cdnow_sample");
    g.sample_size(20);
    g.bench_function("bgnbd", |b| b.iter(|| bgnbd::fit(&data).unwrap()));
    g.bench_function("pareto", |b| b.iter(|| pareto::fit(&data).unwrap()));
    g.bench_function("mbgnbd", |b| b.iter(|| mbgnbd::fit(&data).unwrap()));
    g.bench_function("gamma_gamma", |b| {
        b.iter(|| gamma_gamma::fit(&data).unwrap())
    });
    g.finish();
}

criterion_group!(benches, fits);
criterion_main!(benches);
