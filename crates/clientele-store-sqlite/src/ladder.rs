//! The ladder's reads and writes on SQLite.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    LadderChangeRow, LadderEventRow, LadderReader, LadderRow, LadderSubject, LadderWrite, RulesRow,
    StoreResult,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::write_tx::{SqliteWriteTx, packed};
use crate::{SqliteStore, other};

/// Rows per multi-row `INSERT` (9 columns: 9 000 parameters).
const CHUNK: usize = 1000;

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

/// Live contacts among the ids `$2`, with their flags and P(alive).
const SUBJECTS: &str = "SELECT json_group_array(json_object('contact_id', c.id, 'external_id', c.external_id, 'is_company', json(CASE WHEN c.kind = 'company' THEN 'true' ELSE 'false' END),
                    'contract_active', json(CASE WHEN c.contract_active THEN 'true' ELSE 'false' END),
                    'ambassador', json(CASE WHEN c.ambassador THEN 'true' ELSE 'false' END), 'p_alive', v.p_alive,
                    'p_alive_since', CASE WHEN v.p_alive IS NOT NULL THEN f.fitted_at END))
             FROM contacts c LEFT JOIN contact_clv v ON v.workspace_id = c.workspace_id AND v.contact_id = c.id
             LEFT JOIN clv_fits f ON f.workspace_id = c.workspace_id
             WHERE c.workspace_id = $1 AND c.merged_into IS NULL AND c.id IN (SELECT value FROM json_each($2))";

/// Events of the contacts or accounts `$2`, and of the orders on those accounts. Each branch
/// is one indexed lookup; joined with `OR` in one `WHERE`, SQLite scanned the workspace's log.
const EVENTS: &str = "SELECT json_group_array(json_object('contact_id', contact_id, 'account_id', account_id, 'kind', kind,
                    'occurred_at', occurred_at, 'order_id', order_id, 'amount', amount, 'detail', detail, 'received_at', received_at))
             FROM (SELECT * FROM events WHERE seq IN (
                     SELECT seq FROM events WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))
                     UNION ALL
                     SELECT seq FROM events WHERE workspace_id = $1 AND account_id IN (SELECT value FROM json_each($2))
                     UNION ALL
                     SELECT seq FROM events WHERE workspace_id = $1 AND order_id IN (
                         SELECT order_id FROM events
                         WHERE workspace_id = $1 AND account_id IN (SELECT value FROM json_each($2))))
                   ORDER BY seq)";

fn ladder_row(r: &sqlx::sqlite::SqliteRow) -> Result<LadderRow, sqlx::Error> {
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

fn change_row(r: &sqlx::sqlite::SqliteRow) -> Result<LadderChangeRow, sqlx::Error> {
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

fn rules_row(r: &sqlx::sqlite::SqliteRow) -> Result<RulesRow, sqlx::Error> {
    Ok(RulesRow {
        version: r.try_get(0)?,
        body: r.try_get(1)?,
        created_at: r.try_get(2)?,
    })
}

#[async_trait]
impl LadderWrite for SqliteWriteTx {
    async fn ladder_subjects(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderSubject>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        self.packed(SUBJECTS, &raw).await
    }

    async fn ladder_events(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderEventRow>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        self.packed(EVENTS, &raw).await
    }

    async fn ladder_rows(&mut self, ids: &[ContactId]) -> StoreResult<Vec<LadderRow>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let packed: Vec<(i64, String, String, i64, Option<Micros>, Option<Micros>, Micros)> = self
            .packed(
                "SELECT json_group_array(json_array(contact_id, rung, status, rule_version, failing_since, due_at, evaluated_at))
                 FROM contact_ladder WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))",
                &raw,
            )
            .await?;
        Ok(packed
            .into_iter()
            .map(
                |(c, rung, status, rule_version, failing_since, due_at, evaluated_at)| LadderRow {
                    contact_id: ContactId(c),
                    rung,
                    status,
                    rule_version,
                    failing_since,
                    due_at,
                    evaluated_at,
                },
            )
            .collect())
    }

    async fn save_ladder(
        &mut self,
        rows: &[LadderRow],
        changes: &[LadderChangeRow],
    ) -> StoreResult<()> {
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(concat!(
                "INSERT INTO contact_ladder (workspace_id, ",
                row_columns!(),
                ") "
            ));
            q.push_values(chunk, |mut b, r| {
                b.push_bind(self.ws)
                    .push_bind(r.contact_id.0)
                    .push_bind(r.rung.clone())
                    .push_bind(r.status.clone())
                    .push_bind(r.rule_version)
                    .push_bind(r.failing_since)
                    .push_bind(r.due_at)
                    .push_bind(r.evaluated_at);
            });
            q.push(
                " ON CONFLICT (workspace_id, contact_id) DO UPDATE SET rung = excluded.rung, status = excluded.status,
                  rule_version = excluded.rule_version, failing_since = excluded.failing_since,
                  due_at = excluded.due_at, evaluated_at = excluded.evaluated_at",
            );
            q.build().execute(&mut *self.tx).await.map_err(other)?;
        }
        for chunk in changes.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(concat!(
                "INSERT INTO ladder_history (workspace_id, ",
                change_columns!(),
                ") "
            ));
            q.push_values(chunk, |mut b, c| {
                b.push_bind(self.ws)
                    .push_bind(c.contact_id.0)
                    .push_bind(c.at)
                    .push_bind(c.kind.clone())
                    .push_bind(c.from.clone())
                    .push_bind(c.to.clone())
                    .push_bind(c.reason.clone())
                    .push_bind(c.rule_version)
                    .push_bind(c.metrics.clone());
            });
            q.build().execute(&mut *self.tx).await.map_err(other)?;
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
    exec: impl sqlx::Executor<'e, Database = Sqlite>,
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
impl LadderReader for SqliteStore {
    async fn ladder_inputs(
        &self,
        ws: WorkspaceId,
        ids: &[ContactId],
    ) -> StoreResult<(Vec<LadderSubject>, Vec<LadderEventRow>)> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let subjects = packed(&self.pool, ws.0, SUBJECTS, &raw).await?;
        let events = packed(&self.pool, ws.0, EVENTS, &raw).await?;
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
             AND ($2 IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
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
