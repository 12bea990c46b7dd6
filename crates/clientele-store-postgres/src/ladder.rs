//! The ladder's reads and writes on PostgreSQL.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    LadderChangeRow, LadderEventRow, LadderReader, LadderRow, LadderSubject, LadderWrite, RulesRow,
    StoreResult,
};
use sqlx::Row;

use crate::write_tx::PgWriteTx;
use crate::{PgStore, other};

macro_rules! row_columns {
    () => {
        "contact_id, rung, status, rule_version, failing_since, due_at, evaluated_at"
    };
}
macro_rules! change_columns {
    () => {
        "contact_id, at, kind, from_value, to_value, reason, rule_version, metrics"
    };
}

fn ladder_row(r: &sqlx::postgres::PgRow) -> Result<LadderRow, sqlx::Error> {
    Ok(LadderRow {
        contact_id: ContactId(r.try_get(0)?),
        rung: r.try_get(1)?,
        status: r.try_get(2)?,
        rule_version: r.try_get(3)?,
        failing_since: r.try_get(4)?,
        due_at: r.try_get(5)?,
        evaluated_at: r.try_get(6)?,
    })
}

fn change_row(r: &sqlx::postgres::PgRow) -> Result<LadderChangeRow, sqlx::Error> {
    Ok(LadderChangeRow {
        contact_id: ContactId(r.try_get(0)?),
        at: r.try_get(1)?,
        kind: r.try_get(2)?,
        from: r.try_get(3)?,
        to: r.try_get(4)?,
        reason: r.try_get(5)?,
        rule_version: r.try_get(6)?,
        metrics: r.try_get(7)?,
    })
}

fn rules_row(r: &sqlx::postgres::PgRow) -> Result<RulesRow, sqlx::Error> {
    Ok(RulesRow {
        version: r.try_get(0)?,
        body: r.try_get(1)?,
        created_at: r.try_get(2)?,
    })
}

fn raw(ids: &[ContactId]) -> Vec<i64> {
    ids.iter().map(|c| c.0).collect()
}

/// Live contacts among `ids`, with their flags and P(alive).
async fn subjects<'e>(
    exec: impl sqlx::Executor<'e, Database = sqlx::Postgres>,
    ws: i64,
    ids: &[ContactId],
) -> StoreResult<Vec<LadderSubject>> {
    let rows = sqlx::query(
        "SELECT c.id, c.external_id, c.kind = 'company', c.contract_active, c.ambassador, v.p_alive,
                CASE WHEN v.p_alive IS NOT NULL THEN f.fitted_at END
         FROM contacts c LEFT JOIN contact_clv v ON v.workspace_id = c.workspace_id AND v.contact_id = c.id
         LEFT JOIN clv_fits f ON f.workspace_id = c.workspace_id
         WHERE c.workspace_id = $1 AND c.merged_into IS NULL AND c.id = ANY($2)",
    )
    .bind(ws)
    .bind(raw(ids))
    .fetch_all(exec)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|r| {
            Ok(LadderSubject {
                contact_id: ContactId(r.try_get(0)?),
                external_id: r.try_get(1)?,
                is_company: r.try_get(2)?,
                contract_active: r.try_get(3)?,
                ambassador: r.try_get(4)?,
                p_alive: r.try_get(5)?,
                p_alive_since: r.try_get(6)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(other)
}

/// Events of the contacts or accounts `ids`, and of the orders on those accounts.
async fn events<'e>(
    exec: impl sqlx::Executor<'e, Database = sqlx::Postgres>,
    ws: i64,
    ids: &[ContactId],
) -> StoreResult<Vec<LadderEventRow>> {
    let rows = sqlx::query(
        // One index lookup per id and branch, forced by LATERAL and `OFFSET 0` (which keeps
        // the planner from flattening the subqueries back into joins): written as `OR` or
        // `seq IN (…)`, the planner scanned the workspace's log per batch, and quadratically
        // while a new workspace's statistics still said it was empty.
        // Each branch returns whole rows: a second lookup by `seq` let the planner pick
        // `events_contact` (whose second column is not `seq`) and scan the workspace per row.
        "WITH ids AS (SELECT DISTINCT unnest($2::bigint[]) AS id),
              account_orders AS (
                  SELECT DISTINCT a.order_id FROM ids, LATERAL (
                      SELECT order_id FROM events
                      WHERE workspace_id = $1 AND account_id = ids.id AND order_id IS NOT NULL
                      OFFSET 0) a)
         SELECT contact_id, account_id, kind, occurred_at, order_id, amount, detail, received_at FROM (
             SELECT c.* FROM ids, LATERAL (
                 SELECT seq, contact_id, account_id, kind, occurred_at, order_id, amount, detail, received_at
                 FROM events WHERE workspace_id = $1 AND contact_id = ids.id OFFSET 0) c
             UNION
             SELECT a.* FROM ids, LATERAL (
                 SELECT seq, contact_id, account_id, kind, occurred_at, order_id, amount, detail, received_at
                 FROM events WHERE workspace_id = $1 AND account_id = ids.id OFFSET 0) a
             UNION
             SELECT o.* FROM account_orders, LATERAL (
                 SELECT seq, contact_id, account_id, kind, occurred_at, order_id, amount, detail, received_at
                 FROM events WHERE workspace_id = $1 AND order_id = account_orders.order_id
                 OFFSET 0) o) wanted
         ORDER BY seq",
    )
    .bind(ws)
    .bind(raw(ids))
    .fetch_all(exec)
    .await
    .map_err(other)?;
    rows.iter()
        .map(|r| {
            Ok(LadderEventRow {
                contact_id: ContactId(r.try_get(0)?),
                account_id: r.try_get::<Option<i64>, _>(1)?.map(ContactId),
                kind: r.try_get(2)?,
                occurred_at: r.try_get(3)?,
                order_id: r.try_get(4)?,
                amount: r.try_get(5)?,
                detail: r.try_get(6)?,
                received_at: r.try_get(7)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(other)
}

#[async_trait]
impl LadderWrite for PgWriteTx {
    async fn ladder_subjects(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderSubject>> {
        subjects(&mut *self.tx, self.ws, ids).await
    }

    async fn ladder_events(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderEventRow>> {
        events(&mut *self.tx, self.ws, ids).await
    }

    async fn ladder_rows(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            row_columns!(),
            " FROM contact_ladder WHERE workspace_id = $1 AND contact_id = ANY($2)"
        ))
        .bind(self.ws)
        .bind(raw(ids))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter()
            .map(ladder_row)
            .collect::<Result<_, _>>()
            .map_err(other)
    }

    async fn save_ladder(
        &mut self,
        rows: &[LadderRow],
        changes: &[LadderChangeRow],
    ) -> StoreResult<()> {
        if !rows.is_empty() {
            sqlx::query(concat!(
                "INSERT INTO contact_ladder (workspace_id, ",
                row_columns!(),
                ") SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
                 ON CONFLICT (workspace_id, contact_id) DO UPDATE SET rung = excluded.rung, status = excluded.status,
                 rule_version = excluded.rule_version, failing_since = excluded.failing_since,
                 due_at = excluded.due_at, evaluated_at = excluded.evaluated_at"
            ))
            .bind(self.ws)
            .bind(rows.iter().map(|r| r.contact_id.0).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.rung.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.rule_version).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.failing_since).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.due_at).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.evaluated_at).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        }
        if !changes.is_empty() {
            sqlx::query(concat!(
                "INSERT INTO ladder_history (workspace_id, ",
                change_columns!(),
                ") SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[])"
            ))
            .bind(self.ws)
            .bind(changes.iter().map(|c| c.contact_id.0).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.at).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.from.as_str()).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.to.as_str()).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.reason.as_str()).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.rule_version).collect::<Vec<_>>())
            .bind(changes.iter().map(|c| c.metrics.as_str()).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        }
        Ok(())
    }

    async fn active_rules(&mut self) -> StoreResult<Option<RulesRow>> {
        let row = sqlx::query(
            "SELECT version, body, created_at FROM ladder_rules WHERE workspace_id = $1
             ORDER BY version DESC LIMIT 1",
        )
        .bind(self.ws)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        row.as_ref().map(rules_row).transpose().map_err(other)
    }

    async fn insert_rules(&mut self, rules: &RulesRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ladder_rules (workspace_id, version, body, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(self.ws)
        .bind(rules.version)
        .bind(&rules.body)
        .bind(rules.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn due_contacts(&mut self, now: Micros, limit: i64) -> StoreResult<Vec<ContactId>> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT contact_id FROM contact_ladder WHERE workspace_id = $1 AND due_at IS NOT NULL
             AND due_at <= $2 ORDER BY due_at LIMIT $3",
        )
        .bind(self.ws)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(ids.into_iter().map(|(c,)| ContactId(c)).collect())
    }

    async fn contact_ids_after(
        &mut self,
        after: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<ContactId>> {
        contact_ids_after(&mut *self.tx, self.ws, after, limit).await
    }
}

/// Live contacts with ids above `after`, ascending, at most `limit`.
async fn contact_ids_after<'e>(
    exec: impl sqlx::Executor<'e, Database = sqlx::Postgres>,
    ws: i64,
    after: ContactId,
    limit: i64,
) -> StoreResult<Vec<ContactId>> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM contacts WHERE workspace_id = $1 AND merged_into IS NULL AND id > $2
         ORDER BY id LIMIT $3",
    )
    .bind(ws)
    .bind(after.0)
    .bind(limit)
    .fetch_all(exec)
    .await
    .map_err(other)?;
    Ok(ids.into_iter().map(|(c,)| ContactId(c)).collect())
}

#[async_trait]
impl LadderReader for PgStore {
    async fn ladder_inputs(
        &self,
        ws: WorkspaceId,
        ids: &[ContactId],
    ) -> StoreResult<(Vec<LadderSubject>, Vec<LadderEventRow>)> {
        let subjects = subjects(&self.pool, ws.0, ids).await?;
        let events = events(&self.pool, ws.0, ids).await?;
        Ok((subjects, events))
    }

    async fn contact_ids_page(
        &self,
        ws: WorkspaceId,
        after: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<ContactId>> {
        contact_ids_after(&self.pool, ws.0, after, limit).await
    }

    async fn ladder_row(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<LadderRow>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            row_columns!(),
            " FROM contact_ladder WHERE workspace_id = $1 AND contact_id = $2"
        ))
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(ladder_row).transpose().map_err(other)
    }

    async fn ladder_history(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<Vec<LadderChangeRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            change_columns!(),
            " FROM ladder_history WHERE workspace_id = $1 AND contact_id = $2 ORDER BY at, kind"
        ))
        .bind(ws.0)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.iter()
            .map(change_row)
            .collect::<Result<_, _>>()
            .map_err(other)
    }

    async fn rules_version(
        &self,
        ws: WorkspaceId,
        version: Option<i64>,
    ) -> StoreResult<Option<RulesRow>> {
        let row = sqlx::query(
            "SELECT version, body, created_at FROM ladder_rules WHERE workspace_id = $1
             AND ($2::bigint IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        )
        .bind(ws.0)
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(rules_row).transpose().map_err(other)
    }

    async fn next_due(&self, ws: WorkspaceId) -> StoreResult<Option<Micros>> {
        let (due,): (Option<Micros>,) =
            sqlx::query_as("SELECT MIN(due_at) FROM contact_ladder WHERE workspace_id = $1")
                .bind(ws.0)
                .fetch_one(&self.pool)
                .await
                .map_err(other)?;
        Ok(due)
    }
}
