//! Lifetime value over HTTP, on SQLite and PostgreSQL: a refit on demand over the CDNOW
//! sample reproduces the published BG/NBD estimates, and every buyer's contact carries
//! its P(alive), expected purchases and CLV.

mod common;

use clientele_engine::import::{self, Format};
use clientele_testkit::{TestDb, both_backends};
use common::*;
use serde_json::{Value, json};

const SAMPLE: &[u8] = include_bytes!("../../../data/cdnow/CDNOW_sample.txt");

fn round(x: &Value, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x.as_f64().expect("a number") * scale).round() / scale
}

async fn a_refit_stores_each_buyers_lifetime_value(db: TestDb) {
    let app = spawn(db).await;
    let (s, e) = app.post("/api/v1/clv/fit", &json!({})).await;
    assert_eq!(
        (s, e["field"].as_str()),
        (422, Some("model")),
        "nothing to fit yet: {e}"
    );
    assert_eq!(app.get("/api/v1/clv/fit").await.0, 404);

    import::import(
        app.db.store.as_ref(),
        &app.ws,
        SAMPLE,
        Format::Cdnow,
        &|_, _| {},
    )
    .await
    .unwrap();
    let (s, fit) = app
        .post(
            "/api/v1/clv/fit",
            &json!({"calibration_end": "1997-09-30", "horizon_weeks": 39, "annual_discount_rate": 0}),
        )
        .await;
    assert_eq!(s, 200, "{fit}");
    let params = &fit["fit"]["params"];
    // Fader, Hardie & Lee (2005): the same estimates as from the file.
    assert_eq!(
        [
            round(&params["r"], 3),
            round(&params["alpha"], 3),
            round(&params["a"], 3),
            round(&params["b"], 3)
        ],
        [0.243, 4.414, 0.793, 2.426],
        "{fit}"
    );
    assert_eq!(fit["fit"]["customers"], 2357);
    assert_eq!(fit["contacts"], 2357);
    assert_eq!(fit["calibration_end"], "1997-09-30");
    assert_eq!(app.get("/api/v1/clv/fit").await.1, fit, "the stored fit");

    let (_, page) = app.get("/api/v1/contacts?external_id=00004").await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let (s, contact) = app.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, 200);
    let clv = &contact["clv"];
    let p_alive = clv["p_alive"].as_f64().unwrap();
    assert!(p_alive > 0.0 && p_alive <= 1.0, "{clv}");
    assert!(clv["expected_purchases"].as_f64().unwrap() > 0.0, "{clv}");
    assert!(clv["clv"].as_i64().unwrap() > 0, "{clv}");
    assert_eq!(clv["currency"], "USD");

    // A contact without purchases has no prediction.
    let (_, lead) = app
        .post("/api/v1/contacts", &json!({"external_id": "lead-1"}))
        .await;
    assert_eq!(lead["clv"], Value::Null);
    app.stop().await;
}

async fn refit_settings_are_checked_by_field(db: TestDb) {
    let app = spawn(db).await;
    for (body, field) in [
        (json!({"model": "gamma"}), "model"),
        (json!({"horizon_weeks": 0}), "horizon_weeks"),
        (json!({"annual_discount_rate": -1}), "annual_discount_rate"),
        (json!({"calibration_end": "1997-02-30"}), "calibration_end"),
        (json!({"horizon": 5}), "horizon"),
    ] {
        let (s, e) = app.post("/api/v1/clv/fit", &body).await;
        assert_eq!((s, e["field"].as_str()), (422, Some(field)), "{body}: {e}");
    }
    app.stop().await;
}

both_backends!(
    a_refit_stores_each_buyers_lifetime_value,
    refit_settings_are_checked_by_field
);
