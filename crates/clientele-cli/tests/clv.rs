//! `clientele clv` on the CDNOW files, as a user runs it.

use std::process::{Command, Output};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/cdnow/CDNOW_sample.txt"
);

fn clv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
        .arg("clv")
        .args(args)
        .output()
        .expect("run clientele")
}

fn round(x: f64, digits: i32) -> f64 {
    let s = 10f64.powi(digits);
    (x * s).round() / s
}

#[test]
fn fit_prints_paper_named_parameters_as_json() {
    let o = clv(&[
        "fit",
        "--transactions",
        SAMPLE,
        "--input-format",
        "cdnow",
        "--model",
        "bgnbd",
        "--spend",
        "gamma-gamma",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--unit",
        "week",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["params"];
    let got = [
        p["r"].as_f64().unwrap(),
        p["alpha"].as_f64().unwrap(),
        p["a"].as_f64().unwrap(),
        p["b"].as_f64().unwrap(),
    ];
    assert_eq!(got.map(|x| round(x, 3)), [0.243, 4.414, 0.793, 2.426]);
    assert_eq!(round(v["log_likelihood"].as_f64().unwrap(), 1), -9582.4);
    assert_eq!(
        round(v["spend"]["params"]["gamma"].as_f64().unwrap(), 2),
        15.44
    );
    assert_eq!(v["spend"]["excluded"], 2357 - 946);
    let by = v["holdout"]["by_frequency"].as_array().unwrap();
    assert_eq!(by.len(), 8);
    let actual: f64 = by.iter().map(|r| r["actual"].as_f64().unwrap()).sum();
    assert_eq!(actual, v["holdout"]["actual"].as_f64().unwrap());
}

#[test]
fn predict_prints_one_line_per_customer() {
    let o = clv(&[
        "predict",
        "--transactions",
        SAMPLE,
        "--input-format",
        "cdnow",
        "--model",
        "pareto",
        "--calibration-end",
        "1997-09-30",
        "--horizon",
        "52",
        "--discount",
        "0.01",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,frequency,recency,T,p_alive,expected_purchases,expected_value,clv")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2357);
    for r in &rows {
        assert!((0.0..=1.0).contains(&r[3]), "p_alive {r:?}");
        assert!(
            r[4] >= 0.0 && r[6] >= 0.0 && r.iter().all(|x| x.is_finite()),
            "{r:?}"
        );
    }
}

#[test]
fn a_bad_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.csv");
    std::fs::write(
        &file,
        "customer_id,date,amount\na,2024-01-01,5\nb,2024-02-30,5\n",
    )
    .unwrap();
    let o = clv(&[
        "fit",
        "--transactions",
        file.to_str().unwrap(),
        "--model",
        "bgnbd",
        "--calibration-end",
        "2024-06-30",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("t.csv:3: date:"), "{err}");
}

const MASTER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/cdnow/CDNOW_master.txt"
);

#[test]
fn plot_writes_each_chart_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("charts");
    let o = clv(&[
        "plot",
        "--transactions",
        MASTER,
        "--input-format",
        "cdnow",
        "--model",
        "bgnbd",
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (name, caption) in [
        ("holdout_by_frequency", "Holdout purchases (39 weeks)"),
        ("p_alive_matrix", "P(alive) by recency and frequency"),
        ("cumulative_tracking", "Cumulative repeat purchases"),
    ] {
        let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}.svg");
        assert!(svg.contains(caption), "{name}.svg has its title");
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
        // A blank canvas compresses to almost nothing; a drawn chart does not.
        assert!(png.len() > 10_000, "{name}.png is {} bytes", png.len());
    }
}

#[test]
fn plot_without_a_holdout_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let o = clv(&[
        "plot",
        "--transactions",
        SAMPLE,
        "--input-format",
        "cdnow",
        "--model",
        "bgnbd",
        "--calibration-end",
        "1997-09-30",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--holdout-end"), "{err}");
}
