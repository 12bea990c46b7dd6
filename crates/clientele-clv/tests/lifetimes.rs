//! Agreement with the reference implementation, lifetimes 0.11.3, on the CDNOW sample.
//! `scripts/test` runs `scripts/lifetimes_reference.py` in its own venv and points
//! `CLIENTELE_LIFETIMES_REFERENCE` at the JSON it writes.

mod common;

use std::collections::HashMap;

use clientele_clv::bgnbd::BgNbd;
use clientele_clv::gamma_gamma::{self, GammaGamma};
use clientele_clv::mbgnbd::ModifiedBgNbd;
use clientele_clv::pareto::ParetoNbd;
use clientele_clv::{CustomerSummary, Fit, PurchaseModel, bgnbd, mbgnbd, pareto};
use common::sample;
use serde_json::Value;

fn reference() -> Value {
    let path = std::env::var("CLIENTELE_LIFETIMES_REFERENCE").unwrap_or_else(|_| {
        panic!("CLIENTELE_LIFETIMES_REFERENCE is not set: run the tests with scripts/test, which computes the lifetimes reference")
    });
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the lifetimes reference"))
        .expect("reference JSON")
}

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

/// Our fit agrees with lifetimes' parameters to 1e-4 relative — or, where it does not, ours
/// has the higher likelihood (lifetimes stopped short of the optimum), which the message shows.
fn check_fit<M: Copy>(
    name: &str,
    ours: &Fit<M>,
    theirs: M,
    values: impl Fn(&M) -> Vec<f64>,
    ll: impl Fn(&M) -> f64,
) {
    let (a, b) = (values(&ours.model), values(&theirs));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| rel(*x, *y))
        .fold(0.0, f64::max);
    if worst > 1e-4 {
        let (ll_ours, ll_theirs) = (ll(&ours.model), ll(&theirs));
        assert!(
            ll_ours > ll_theirs,
            "{name}: parameters differ by {worst:e} relative ({a:?} vs {b:?}) and lifetimes' are not worse: {ll_ours} vs {ll_theirs}"
        );
        assert!(worst < 1e-3, "{name}: {a:?} vs {b:?}");
    }
}

/// Our predictions at lifetimes' parameters agree with lifetimes' to 1e-6 relative.
fn check_predictions(
    name: &str,
    model: &dyn PurchaseModel,
    r: &Value,
    customers: &HashMap<u32, CustomerSummary>,
    ids: &[Value],
) {
    let horizon = r["horizon"].as_f64().unwrap();
    for (k, id) in ids.iter().enumerate() {
        let c = customers[&(id.as_u64().unwrap() as u32)];
        let p_alive = r[name]["p_alive"][k].as_f64().unwrap();
        let expected = r[name]["expected"][k].as_f64().unwrap();
        assert!(
            rel(model.p_alive(c.frequency, c.recency, c.t), p_alive) < 1e-6,
            "{name} p_alive of customer {id}"
        );
        let ours = model.conditional_expected_purchases(horizon, c.frequency, c.recency, c.t);
        assert!(
            rel(ours, expected) < 1e-6,
            "{name} expected purchases of customer {id}: {ours} vs {expected}"
        );
    }
}

fn ll_of(data: &[CustomerSummary], f: impl Fn(f64, f64, f64) -> f64) -> f64 {
    data.iter().map(|c| f(c.frequency, c.recency, c.t)).sum()
}

#[test]
fn fits_and_predictions_agree_with_lifetimes() {
    let r = reference();
    let data = sample();
    let customers: HashMap<u32, CustomerSummary> = data.iter().map(|c| (c.customer, *c)).collect();
    let ids = r["customers"].as_array().unwrap().clone();
    assert_eq!(ids.len(), data.len());
    let p = |m: &str, k: &str| r[m]["params"][k].as_f64().unwrap();

    let theirs = BgNbd {
        r: p("bgnbd", "r"),
        alpha: p("bgnbd", "alpha"),
        a: p("bgnbd", "a"),
        b: p("bgnbd", "b"),
    };
    check_fit(
        "bgnbd",
        &bgnbd::fit(&data).unwrap(),
        theirs,
        |m| vec![m.r, m.alpha, m.a, m.b],
        |m| ll_of(&data, |x, tx, t| m.log_likelihood(x, tx, t)),
    );
    check_predictions("bgnbd", &theirs, &r, &customers, &ids);

    let theirs = ParetoNbd {
        r: p("pareto", "r"),
        alpha: p("pareto", "alpha"),
        s: p("pareto", "s"),
        beta: p("pareto", "beta"),
    };
    check_fit(
        "pareto",
        &pareto::fit(&data).unwrap(),
        theirs,
        |m| vec![m.r, m.alpha, m.s, m.beta],
        |m| ll_of(&data, |x, tx, t| m.log_likelihood(x, tx, t)),
    );
    check_predictions("pareto", &theirs, &r, &customers, &ids);

    let theirs = ModifiedBgNbd {
        r: p("mbgnbd", "r"),
        alpha: p("mbgnbd", "alpha"),
        a: p("mbgnbd", "a"),
        b: p("mbgnbd", "b"),
    };
    check_fit(
        "mbgnbd",
        &mbgnbd::fit(&data).unwrap(),
        theirs,
        |m| vec![m.r, m.alpha, m.a, m.b],
        |m| ll_of(&data, |x, tx, t| m.log_likelihood(x, tx, t)),
    );
    check_predictions("mbgnbd", &theirs, &r, &customers, &ids);

    let theirs = GammaGamma {
        p: p("gamma_gamma", "p"),
        q: p("gamma_gamma", "q"),
        gamma: p("gamma_gamma", "v"),
    };
    let usable: Vec<CustomerSummary> = data
        .iter()
        .filter(|c| gamma_gamma::usable(c))
        .copied()
        .collect();
    check_fit(
        "gamma-gamma",
        &gamma_gamma::fit(&data).unwrap(),
        theirs,
        |m| vec![m.p, m.q, m.gamma],
        |m| {
            usable
                .iter()
                .map(|c| m.log_likelihood(c.frequency, c.monetary))
                .sum()
        },
    );
    let gg = &r["gamma_gamma"];
    for (k, id) in gg["customers"].as_array().unwrap().iter().enumerate() {
        let c = customers[&(id.as_u64().unwrap() as u32)];
        let expected = gg["expected_value"][k].as_f64().unwrap();
        assert!(
            rel(
                theirs.conditional_expected_value(c.frequency, c.monetary),
                expected
            ) < 1e-6,
            "gamma-gamma value of {id}"
        );
    }
}
