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

both_backends!(
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
