//! A real server on 127.0.0.1:0 over a fresh store, driven by a real HTTP client.
#![allow(dead_code, reason = "each test file uses a different subset")]

use clientele_store::Workspace;
use clientele_testkit::TestDb;
use serde_json::Value;
use tokio::sync::oneshot;

pub struct App {
    pub db: TestDb,
    pub base: String,
    pub ws: Workspace,
    pub token: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn token_for(db: &TestDb, ws: &Workspace) -> String {
    let token = format!("test-{:032x}", rand::random::<u128>());
    db.store
        .create_token(ws.id, &clientele_http::auth::token_hash(&token), "test")
        .await
        .unwrap();
    token
}

pub async fn spawn(db: TestDb) -> App {
    let ws = db.workspace("shop").await;
    let token = token_for(&db, &ws).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    let store = db.store.clone();
    let server = tokio::spawn(clientele_http::serve(listener, store, async {
        let _ = rx.await;
    }));
    App {
        db,
        base,
        ws,
        token,
        client: reqwest::Client::new(),
        stop: Some(tx),
        server: Some(server),
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        read(r).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    /// Stop the server gracefully and wait for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.await.unwrap().unwrap();
        }
    }
}

pub async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = r.text().await.unwrap();
    if status >= 400 {
        assert_eq!(
            ct, "application/problem+json",
            "errors are problem details: {status} {text}"
        );
    }
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
