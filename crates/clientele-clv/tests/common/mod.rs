//! The CDNOW sample, summarised as in the published analyses.
#![allow(dead_code, reason = "each test file uses a different subset")]

use clientele_clv::summary::{Txn, Unit, summarize};

const SAMPLE: &str = include_str!("../../../../data/cdnow/CDNOW_sample.txt");

pub fn day(yyyymmdd: &str) -> i32 {
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

pub fn sample() -> Vec<clientele_clv::CustomerSummary> {
    let txns: Vec<Txn> = SAMPLE
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

pub fn round(x: f64, digits: i32) -> f64 {
    let s = 10f64.powi(digits);
    (x * s).round() / s
}
