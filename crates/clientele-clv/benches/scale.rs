//! Scale: 1 000 000 simulated customers (~10 M transactions, the paper's BG/NBD and
//! Gamma-Gamma parameters with rates per day over six years). CSV → summary + RFM, the
//! BG/NBD and Gamma-Gamma fits and the predictions, each on one core and on all cores.

use clientele_clv::bgnbd::{self, BgNbd};
use clientele_clv::csv_summary::summarize_csv;
use clientele_clv::gamma_gamma::{self, GammaGamma};
use clientele_clv::simulate::{Simulation, simulate, write_csv};
use clientele_clv::{Unit, predict, rfm::rfm};
use criterion::{Criterion, criterion_group, criterion_main};

const DAYS: i32 = 2190;

fn data() -> Vec<u8> {
    let txns = simulate(&Simulation {
        customers: 1_000_000,
        cohort_days: 84,
        end_day: DAYS - 1,
        purchases: BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        },
        unit: Unit::Day,
        spend: GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        },
        seed: 42,
    })
    .unwrap();
    let mut csv = Vec::new();
    write_csv(&txns, jiff::civil::date(2020, 1, 1), &mut csv).unwrap();
    csv
}

fn scale(c: &mut Criterion) {
    let csv = data();
    // The last simulated day, 2025-12-30, ends calibration: the whole history is fitted.
    let end = DAYS - 1 + 18_262;
    let mut g = c.benchmark_group("scale_1m");
    g.sample_size(10);
    let summaries = summarize_csv(&csv, end, None, Unit::Day).unwrap().summaries;
    let fit = bgnbd::fit(&summaries).unwrap().model;
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        g.bench_function(format!("csv_summary_rfm/{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    let s = summarize_csv(&csv, end, None, Unit::Day).unwrap();
                    (rfm(&s.summaries), s)
                })
            })
        });
        g.bench_function(format!("bgnbd_fit/{threads}"), |b| {
            b.iter(|| pool.install(|| bgnbd::fit(&summaries).unwrap()))
        });
        g.bench_function(format!("gamma_gamma_fit/{threads}"), |b| {
            b.iter(|| pool.install(|| gamma_gamma::fit(&summaries).unwrap()))
        });
        g.bench_function(format!("predict_52/{threads}"), |b| {
            b.iter(|| pool.install(|| predict(&fit, None, &summaries, 52, 0.0)))
        });
    }
    g.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
