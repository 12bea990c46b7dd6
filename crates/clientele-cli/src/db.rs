//! Opening the store named by a database URL: the scheme picks the back end.

use std::sync::Arc;

use anyhow::{Context, bail};
use clientele_store::{Store, Workspace};
use clientele_store_postgres::PgStore;
use clientele_store_sqlite::SqliteStore;

/// The embedded default: a file in the working directory.
pub const DEFAULT_URL: &str = "sqlite:clientele.db";

/// Connect and migrate.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(
            SqliteStore::connect(url)
                .await
                .with_context(|| format!("opening {url}"))?,
        )
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(
            PgStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?,
        )
    } else {
        bail!("--database: {url:?} is neither sqlite:PATH nor postgres://…");
    };
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// The named workspace, or the only one when no name is given.
pub async fn workspace(store: &dyn Store, name: Option<&str>) -> anyhow::Result<Workspace> {
    if let Some(name) = name {
        return store
            .workspace_by_name(name)
            .await?
            .with_context(|| format!("--workspace: no workspace named {name:?} (create it with `clientele workspace create {name}`)"));
    }
    let all = store.workspaces().await?;
    match all.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!("no workspace yet: create one with `clientele workspace create NAME`"),
        many => {
            let names: Vec<&str> = many.iter().map(|w| w.name.as_str()).collect();
            bail!(
                "--workspace is required: there are several ({})",
                names.join(", ")
            )
        }
    }
}
