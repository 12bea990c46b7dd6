//! Workspaces and API tokens.

use async_trait::async_trait;
use clientele_core::WorkspaceId;
use clientele_store::{NewWorkspace, StoreError, StoreResult, Workspace, WorkspaceStore};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::{PgStore, other};

fn workspace(row: &PgRow) -> StoreResult<Workspace> {
    Ok(Workspace {
        id: WorkspaceId(row.try_get("id").map_err(other)?),
        name: row.try_get("name").map_err(other)?,
        currency: row.try_get("currency").map_err(other)?,
        time_zone: row.try_get("time_zone").map_err(other)?,
        phone_region: row.try_get("phone_region").map_err(other)?,
    })
}

#[async_trait]
impl WorkspaceStore for PgStore {
    async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<Workspace> {
        let row = sqlx::query(
            "INSERT INTO workspaces (name, currency, time_zone, phone_region, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id, name, currency, time_zone, phone_region",
        )
        .bind(&new.name)
        .bind(&new.currency)
        .bind(&new.time_zone)
        .bind(&new.phone_region)
        .bind(clientele_store::now_micros())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match other(e) {
            StoreError::Conflict { .. } => StoreError::Conflict {
                constraint: "workspaces.name".into(),
            },
            e => e,
        })?;
        workspace(&row)
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        let row = sqlx::query("SELECT * FROM workspaces WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(workspace).transpose()
    }

    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        let row = sqlx::query("SELECT * FROM workspaces WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(workspace).transpose()
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let rows = sqlx::query("SELECT * FROM workspaces ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        rows.iter().map(workspace).collect()
    }

    async fn create_token(
        &self,
        ws: WorkspaceId,
        token_hash: &[u8],
        label: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (token_hash, workspace_id, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(ws.0)
            .bind(label)
            .bind(clientele_store::now_micros())
            .execute(&self.pool)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn workspace_for_token(&self, token_hash: &[u8]) -> StoreResult<Option<Workspace>> {
        let row = sqlx::query(
            "SELECT w.* FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(workspace).transpose()
    }
}
