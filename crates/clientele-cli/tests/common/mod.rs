//! What the binary's tests share: running a command, and starting a server.

use clientele_testkit::TestDb;
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

/// Run `clientele ARGS` on the test database; it must succeed; answers its stdout.
pub fn clientele(db: &TestDb, args: &[&str]) -> String {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(args)
        .env("CLIENTELE_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// `clientele serve` on a free port with `args`; answers it and its base URL.
pub async fn serve(db: &TestDb, args: &[&str]) -> (Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--clv-refit-every",
            "off",
        ])
        .args(args)
        .env("CLIENTELE_DATABASE_URL", &db.url)
        .env("CLIENTELE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = out.next_line().await.unwrap().unwrap();
    let base = line.strip_prefix("listening on ").unwrap().to_owned();
    // Keep reading what it prints, so a full pipe never stalls it.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    (child, base)
}
