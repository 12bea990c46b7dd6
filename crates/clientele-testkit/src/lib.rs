//! Test support: a fresh database per test on SQLite (a temp file) or PostgreSQL (a new
//! database on the server named by `CLIENTELE_TEST_POSTGRES_URL`, dropped afterwards), and
//! a macro that runs one test body on both back ends, and a real SMTP server to send to.

pub mod smtp;

use std::sync::Arc;

use clientele_store::{Store, Workspace};
use clientele_store_postgres::PgStore;
use clientele_store_sqlite::SqliteStore;

/// Which back end a [`TestDb`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temp SQLite file.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A migrated, empty store that cleans up after itself.
pub struct TestDb {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Its URL, for starting a server process on it.
    pub url: String,
    /// Which back end.
    pub backend: Backend,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server URL the test script exports; missing means the suite was not
/// started the documented way, which must fail rather than skip.
pub fn postgres_admin_url() -> String {
    std::env::var("CLIENTELE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("CLIENTELE_TEST_POSTGRES_URL is not set: run the tests with scripts/test, which starts a throwaway PostgreSQL")
    })
}

impl TestDb {
    /// A fresh store on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let store = SqliteStore::connect(&url).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        Self {
            store: Arc::new(store),
            url,
            backend: Backend::Sqlite,
            pg: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin = postgres_admin_url();
        let name = format!("clientele_test_{:016x}", rand::random::<u64>());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("CLIENTELE_TEST_POSTGRES_URL must end in /DATABASE"),
        };
        let store = PgStore::connect(&url)
            .await
            .expect("connect to the test database");
        store.migrate().await.expect("migrate PostgreSQL");
        Self {
            store: Arc::new(store),
            url,
            backend: Backend::Postgres,
            pg: Some((admin, name)),
            _dir: None,
        }
    }

    /// Run one raw SQL statement on the test database: how a test stands for damage or a
    /// database upgraded from an older release, which no API can produce.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let outcome = match self.backend {
            Backend::Sqlite => {
                let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.url)
                    .await
                    .expect("connect to the test SQLite file");
                sqlx::query(sql).execute(&mut conn).await.map(drop)
            }
            Backend::Postgres => {
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url)
                    .await
                    .expect("connect to the test database");
                sqlx::query(sql).execute(&mut conn).await.map(drop)
            }
        };
        outcome.unwrap_or_else(|e| panic!("raw test statement failed: {e}"));
    }

    /// Create a workspace (USD, UTC, phone region VN) with this name.
    pub async fn workspace(&self, name: &str) -> Workspace {
        self.workspace_with(name, "USD", "UTC").await
    }

    /// Create a workspace with a currency and time zone.
    pub async fn workspace_with(&self, name: &str, currency: &str, tz: &str) -> Workspace {
        let new = clientele_store::NewWorkspace {
            name: name.into(),
            currency: currency.into(),
            time_zone: tz.into(),
            phone_region: "VN".into(),
        };
        self.store
            .create_workspace(&new)
            .await
            .expect("create workspace")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop runs outside async context: a short-lived runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Generate `sqlite::NAME` and `postgres::NAME` tests for each `async fn NAME(db: TestDb)`
/// in scope.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Sqlite).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::new($crate::Backend::Postgres).await).await;
                }
            )+
        }
    };
}
