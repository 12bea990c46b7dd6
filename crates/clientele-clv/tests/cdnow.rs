//! Fidelity: the published estimates on the CDNOW sample (2 357 customers, calibration
//! 1997-01-01 to 1997-09-30, weeks), to the printed digits.

use clientele_clv::{bgnbd, gamma_gamma};

mod common;

use common::{round, sample};

#[test]
fn the_sample_summarises_to_2357_customers() {
    let s = sample();
    assert_eq!(s.len(), 2357);
    assert_eq!(s.iter().filter(|c| c.frequency > 0.0).count(), 946);
    let first = s.iter().find(|c| c.customer == 1).unwrap();
    assert_eq!(
        first.t,
        272.0 / 7.0,
        "customer 1 first bought on 1997-01-01"
    );
}

#[test]
fn bgnbd_reproduces_the_published_estimates() {
    let fit = bgnbd::fit(&sample()).unwrap();
    let m = fit.model;
    assert_eq!(
        (
            round(m.r, 3),
            round(m.alpha, 3),
            round(m.a, 3),
            round(m.b, 3)
        ),
        (0.243, 4.414, 0.793, 2.426),
        "{m:?}"
    );
    assert_eq!(round(fit.log_likelihood, 1), -9582.4);
    assert!(fit.converged);
    let se = fit.std_errors.expect("standard errors");
    assert!(se.iter().all(|s| *s > 0.0 && *s < 1.0), "{se:?}");
}

#[test]
fn gamma_gamma_reproduces_the_published_estimates() {
    let s = sample();
    let fit = gamma_gamma::fit(&s).unwrap();
    assert_eq!(fit.observations, 946);
    let m = fit.model;
    assert_eq!(
        (round(m.p, 2), round(m.q, 2), round(m.gamma, 2)),
        (6.25, 3.74, 15.44),
        "{m:?}"
    );
}

#[test]
fn pareto_nbd_reproduces_the_published_estimates() {
    let fit = clientele_clv::pareto::fit(&sample()).unwrap();
    let m = fit.model;
    assert_eq!(
        (
            round(m.r, 3),
            round(m.alpha, 3),
            round(m.s, 3),
            round(m.beta, 3)
        ),
        (0.553, 10.578, 0.606, 11.669),
        "{m:?}"
    );
    assert_eq!(round(fit.log_likelihood, 1), -9595.0);
}

#[test]
fn modified_bgnbd_fits_the_sample_at_least_as_well_as_bgnbd() {
    let s = sample();
    let mbg = clientele_clv::mbgnbd::fit(&s).unwrap();
    let bg = bgnbd::fit(&s).unwrap();
    assert!(mbg.converged && mbg.log_likelihood.is_finite());
    // Both are four-parameter models of the same data; the published comparison on CDNOW
    // finds them within a few log-likelihood points of each other.
    assert!(
        (mbg.log_likelihood - bg.log_likelihood).abs() < 20.0,
        "{} vs {}",
        mbg.log_likelihood,
        bg.log_likelihood
    );
}

#[test]
fn every_model_fits_the_full_cdnow_file() {
    let master = include_str!("../../../data/cdnow/CDNOW_master.txt");
    let mut ids = std::collections::HashMap::new();
    let txns: Vec<clientele_clv::Txn> = master
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let next = ids.len() as u32;
            let customer = *ids.entry(c[0].to_owned()).or_insert(next);
            clientele_clv::Txn {
                customer,
                day: common::day(c[1]),
                amount: c[3].parse().unwrap(),
            }
        })
        .collect();
    let data = clientele_clv::summarize(
        &txns,
        common::day("19970930"),
        None,
        clientele_clv::Unit::Week,
    );
    assert_eq!(data.len(), 23_570);
    let bg = bgnbd::fit(&data).unwrap();
    let pareto = clientele_clv::pareto::fit(&data).unwrap();
    let mbg = clientele_clv::mbgnbd::fit(&data).unwrap();
    let gg = gamma_gamma::fit(&data).unwrap();
    for (name, ll, se) in [
        ("bgnbd", bg.log_likelihood, bg.std_errors),
        ("pareto", pareto.log_likelihood, pareto.std_errors),
        ("mbgnbd", mbg.log_likelihood, mbg.std_errors),
        ("gamma-gamma", gg.log_likelihood, gg.std_errors),
    ] {
        assert!(ll.is_finite(), "{name}");
        assert!(
            se.is_some_and(|s| s.iter().all(|v| v.is_finite() && *v > 0.0)),
            "{name} standard errors"
        );
    }
    // Ten times the customers of the sample, from the same population: close parameters.
    assert!(
        (bg.model.r - 0.243).abs() < 0.05 && (bg.model.a - 0.793).abs() < 0.3,
        "{:?}",
        bg.model
    );
}
