//! Fit times on the CDNOW sample (2 357 customers, weeks, calibration to 1997-09-30).
//! `scripts/bench-clv` runs this beside lifetimes and prints the ratios.

use clientele_clv::{CustomerSummary, Txn, Unit, bgnbd, gamma_gamma, mbgnbd, pareto, summarize};
use criterion::{Criterion, criterion_group, criterion_main};

fn day(yyyymmdd: &str) -> i32 {
    let d: jiff::civil::Date = format!(
        "{}-{}-{}",
        &yyyymmdd[0..4],
        &yyyymmdd[4..6],
        &yyyymmdd[6..8]
    )
    .parse()
    .unwrap();
    d.since(jiff::civil::date(1970, 1, 1)).unwrap().get_days()
}

fn sample() -> Vec<CustomerSummary> {
    let text = include_str!("../../../data/cdnow/CDNOW_sample.txt");
    let txns: Vec<Txn> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            Txn {
                customer: c[1].parse().unwrap(),
                day: day(c[2]),
                amount: c[4].parse().unwrap(),
            }
        })
        .collect();
    summarize(&txns, day("19970930"), None, Unit::Week)
}

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
