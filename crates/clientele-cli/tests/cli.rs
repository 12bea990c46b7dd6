//! The `clientele` binary's commands, run as a user would, on SQLite and PostgreSQL.

use std::process::{Command, Output};

use clientele_testkit::{TestDb, both_backends};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/cdnow/CDNOW_sample.txt"
);

fn clientele(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(args)
        .env("CLIENTELE_DATABASE_URL", &db.url)
        .env("CLIENTELE_LOG", "warn")
        .output()
        .expect("run clientele")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn workspace_and_token_commands(db: TestDb) {
    let o = clientele(
        &db,
        &[
            "workspace",
            "create",
            "cafe",
            "--currency",
            "vnd",
            "--timezone",
            "Asia/Ho_Chi_Minh",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ws = db.store.workspace_by_name("cafe").await.unwrap().unwrap();
    assert_eq!(
        (ws.currency.as_str(), ws.time_zone.as_str()),
        ("VND", "Asia/Ho_Chi_Minh")
    );
    let o = clientele(&db, &["token", "create", "--workspace", "cafe"]);
    let token = stdout(&o);
    assert_eq!(token.lines().count(), 1, "the token alone on stdout");
    let hash = clientele_http::auth::token_hash(token.trim());
    assert_eq!(
        db.store
            .workspace_for_token(&hash)
            .await
            .unwrap()
            .map(|w| w.name),
        Some("cafe".into())
    );
    let o = clientele(&db, &["workspace", "create", "cafe"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"));
    let o = clientele(&db, &["workspace", "create", "bad", "--currency", "XYZ"]);
    assert!(stderr(&o).contains("currency"), "{}", stderr(&o));
    let o = clientele(&db, &["token", "create", "--workspace", "nope"]);
    assert!(stderr(&o).contains("--workspace"), "{}", stderr(&o));
}

async fn import_is_idempotent_and_reports_its_counts(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    let o = clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().last(),
        Some("imported 6919, duplicates 0, rejected 0")
    );
    let o = clientele(
        &db,
        &[
            "import",
            "orders",
            SAMPLE,
            "--format",
            "cdnow",
            "--workspace",
            "shop",
        ],
    );
    assert_eq!(
        stdout(&o).lines().last(),
        Some("imported 0, duplicates 6919, rejected 0")
    );
    let o = clientele(&db, &["rebuild", "--workspace", "shop"]);
    assert!(
        stdout(&o).starts_with("replayed 6919 events"),
        "{}",
        stdout(&o)
    );
}

async fn bad_rows_are_reported_with_their_line_and_kept_aside(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.txt");
    std::fs::write(&file, b"00001 19970101 1 11.77\n00002 19970229 1 5.00\n00003 19970102 1 \xff\n00004 19970103 2 7.50\n").unwrap();
    let path = file.to_str().unwrap();
    let o = clientele(&db, &["import", "orders", path, "--format", "cdnow"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).lines().last(),
        Some("imported 2, duplicates 0, rejected 2")
    );
    let err = stderr(&o);
    assert!(err.contains(&format!("{path}:2: date: ")), "{err}");
    assert!(
        err.contains(&format!("{path}:3: line: invalid UTF-8")),
        "{err}"
    );
    let rejects = std::fs::read_to_string(format!("{path}.rejects")).unwrap();
    assert_eq!(
        rejects.lines().collect::<Vec<_>>(),
        vec!["00002 19970229 1 5.00", "00003 19970102 1 \u{fffd}"]
    );
}

async fn clv_fits_a_workspaces_purchases_from_the_database(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    let o = clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = clientele(
        &db,
        &[
            "clv",
            "fit",
            "--workspace",
            "shop",
            "--model",
            "bgnbd",
            "--spend",
            "gamma-gamma",
            "--calibration-end",
            "1997-09-30",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let fit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = |k: &str, digits: i32| {
        let s = 10f64.powi(digits);
        (fit["params"][k].as_f64().unwrap() * s).round() / s
    };
    // The published BG/NBD estimates, as from the file itself.
    assert_eq!(
        [p("r", 3), p("alpha", 3), p("a", 3), p("b", 3)],
        [0.243, 4.414, 0.793, 2.426],
        "{fit}"
    );
    assert_eq!(fit["customers"], 2357);
    let gg = |k: &str| (fit["spend"]["params"][k].as_f64().unwrap() * 100.0).round() / 100.0;
    assert_eq!(
        [gg("p"), gg("q"), gg("gamma")],
        [6.25, 3.74, 15.44],
        "{fit}"
    );
    let o = clientele(
        &db,
        &[
            "clv",
            "fit",
            "--workspace",
            "nope",
            "--model",
            "bgnbd",
            "--calibration-end",
            "1997-09-30",
        ],
    );
    assert!(stderr(&o).contains("--workspace"), "{}", stderr(&o));
}

async fn the_server_refits_lifetime_value_on_its_schedule(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    let token = stdout(&clientele(&db, &["token", "create", "--workspace", "shop"]));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--clv-refit-every",
            "1h",
        ])
        .env("CLIENTELE_DATABASE_URL", &db.url)
        .env("CLIENTELE_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = out.next_line().await.unwrap().unwrap();
    let base = line.strip_prefix("listening on ").unwrap().to_owned();
    // The first scheduled refit runs at start-up; the server logs it once it is stored.
    let mut log = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let refit = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("scheduled CLV refit") {
                return line;
            }
        }
        panic!("the server stopped before its first refit");
    })
    .await
    .expect("a scheduled refit within 120 s");
    assert!(refit.contains("workspace=shop"), "{refit}");
    let fit: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/v1/clv/fit"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fit["fit"]["model"], "bgnbd");
    assert_eq!(fit["contacts"], 2357);
    child.kill().await.unwrap();
}

async fn ladder_prints_the_funnel_and_the_contacts(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    let o = clientele(
        &db,
        &["ladder", "--as-of", "1997-06-30", "--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let funnel: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(funnel["contacts"], 2357);
    let count = |rung: &str| {
        funnel["rungs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rung"] == rung)
            .unwrap()["contacts"]
            .as_u64()
            .unwrap()
    };
    let total: u64 = [
        "raving_fan",
        "advocate",
        "client",
        "customer",
        "shopper",
        "prospect",
        "suspect",
    ]
    .iter()
    .map(|r| count(r))
    .sum();
    assert_eq!(total, 2357);
    assert_eq!(
        count("suspect"),
        0,
        "everyone in the sample bought by March 1997"
    );

    let o = clientele(
        &db,
        &[
            "ladder",
            "contacts",
            "--as-of",
            "1997-06-30",
            "--format",
            "csv",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("external_id,rung,status"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2357);
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(rows, sorted, "sorted by external id");
    // Customer 00004 bought on 1997-01-01 and 1997-01-18: a customer, and at risk by June
    // (163 days of quiet, past the 90-day threshold).
    assert!(rows.contains(&"00004,customer,at_risk"), "{:?}", &rows[..3]);

    // A rule file classifies instead of the active rules; a bad one names its path.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    let strict = clientele_ladder::rules::DEFAULT_TOML.replace(
        "when = { metric = \"paid_orders\", op = \">=\", value = 2 }",
        "when = { metric = \"paid_orders\", op = \">=\", value = 3 }",
    );
    std::fs::write(&file, strict).unwrap();
    let o = clientele(
        &db,
        &[
            "ladder",
            "--as-of",
            "1997-06-30",
            "--rules",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let strict_funnel: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let strict_customers = strict_funnel["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rung"] == "customer")
        .unwrap()["contacts"]
        .as_u64()
        .unwrap();
    assert!(
        strict_customers < count("customer"),
        "three orders make fewer customers"
    );
    std::fs::write(&file, "[[rungs]]\nrung = \"boss\"\nwhen = \"always\"\n").unwrap();
    let o = clientele(&db, &["ladder", "--rules", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("rungs[0].rung"), "{}", stderr(&o));
}

async fn loyalty_shows_balances_and_history(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    // Customer 4's four 1997 orders earned 29 + 29 + 14 + 26 points, expired a year later.
    let o = clientele(&db, &["loyalty", "history", "00004"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,kind,points,balance_after,debt_after,reason,reference"
    );
    let points = |kind: &str| -> i64 {
        lines[1..]
            .iter()
            .filter(|l| l.split(',').nth(2) == Some(kind))
            .map(|l| l.split(',').nth(3).unwrap().parse::<i64>().unwrap())
            .sum()
    };
    assert_eq!((points("earn"), points("expire")), (98, -98), "{out}");
    let o = clientele(&db, &["loyalty", "balance", "00004"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("balance      0"), "{}", stdout(&o));
    let o = clientele(&db, &["loyalty", "expire-now"]);
    assert_eq!(stdout(&o).trim(), "shop: 0 accounts had lots expire");
    let o = clientele(&db, &["loyalty", "balance", "nobody"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("nobody"), "{}", stderr(&o));
}

async fn loyalty_issues_coupons_and_lists_referrers(db: TestDb) {
    clientele(&db, &["workspace", "create", "shop"]);
    clientele(&db, &["import", "orders", SAMPLE, "--format", "cdnow"]);
    let args = [
        "loyalty",
        "coupons",
        "--kind",
        "percent",
        "--value",
        "15",
        "--count",
        "3",
        "--contact",
        "00004",
    ];
    let o = clientele(&db, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let codes: Vec<&str> = out.lines().collect();
    assert_eq!(codes.len(), 3, "{out}");
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 19 && c.matches('-').count() == 3)
    );
    let bad = ["loyalty", "coupons", "--kind", "percent", "--value", "150"];
    let o = clientele(&db, &bad);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("1 to 100"), "{}", stderr(&o));
    let o = clientele(&db, &["loyalty", "referrals"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "referrer_id,invited,converted,revoked,revenue",
        "no referrals yet"
    );
}

both_backends!(
    loyalty_issues_coupons_and_lists_referrers,
    loyalty_shows_balances_and_history,
    ladder_prints_the_funnel_and_the_contacts,
    clv_fits_a_workspaces_purchases_from_the_database,
    the_server_refits_lifetime_value_on_its_schedule,
    workspace_and_token_commands,
    import_is_idempotent_and_reports_its_counts,
    bad_rows_are_reported_with_their_line_and_kept_aside,
);

#[test]
fn a_database_url_of_unknown_scheme_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["--database", "mysql://x", "migrate"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--database"), "{}", stderr(&o));
}
