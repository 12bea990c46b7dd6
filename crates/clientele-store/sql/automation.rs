// Automation storage in SQL both back ends speak: included by `clientele-store-sqlite` and
// `clientele-store-postgres` (not compiled here), each defining first `Tx`, `Db`, `DbRow`
// (as for coupons_referrals.rs), `claim_lock!()`: what the claim's inner SELECT ends
// with (`FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite, whose one writer is
// the lock), and `enqueue_rows`, the bulk insert of outbox rows in its dialect.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    AutomationReader, AutomationWrite, MessageRow, OutboxRow, RulesRow, StoreResult,
};
use sqlx::Row;

use crate::other;

macro_rules! step_columns {
    () => {
        "id, key, contact_id, rule, rule_version, step, occurrence, context, due_at, status, \
         attempts, last_error, created_at, finished_at"
    };
}
macro_rules! message_columns {
    () => {
        "id, contact_id, channel, rule, rule_version, step_key, recipient, subject, status, \
         detail, at, purpose"
    };
}

fn step_row(r: &DbRow) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        contact_id: ContactId(r.try_get(2)?),
        rule: r.try_get(3)?,
        rule_version: r.try_get(4)?,
        step: r.try_get(5)?,
        occurrence: r.try_get(6)?,
        context: r.try_get(7)?,
        due_at: r.try_get(8)?,
        status: r.try_get(9)?,
        attempts: r.try_get(10)?,
        last_error: r.try_get(11)?,
        created_at: r.try_get(12)?,
        finished_at: r.try_get(13)?,
    })
}

fn message_row(r: &DbRow) -> Result<MessageRow, sqlx::Error> {
    Ok(MessageRow {
        id: r.try_get(0)?,
        contact_id: ContactId(r.try_get(1)?),
        channel: r.try_get(2)?,
        rule: r.try_get(3)?,
        rule_version: r.try_get(4)?,
        step_key: r.try_get(5)?,
        recipient: r.try_get(6)?,
        subject: r.try_get(7)?,
        status: r.try_get(8)?,
        detail: r.try_get(9)?,
        at: r.try_get(10)?,
        purpose: r.try_get(11)?,
    })
}

fn rows<T>(rows: &[DbRow], f: fn(&DbRow) -> Result<T, sqlx::Error>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect::<Result<_, _>>().map_err(other)
}

fn rules_row((version, body, created_at): (i64, String, Micros)) -> RulesRow {
    RulesRow {
        version,
        body,
        created_at,
    }
}

#[async_trait]
impl AutomationWrite for Tx {
    async fn automation_rules(&mut self) -> StoreResult<Option<RulesRow>> {
        let row: Option<(i64, String, Micros)> = sqlx::query_as(
            "SELECT version, body, created_at FROM automation_rules WHERE workspace_id = $1
             ORDER BY version DESC LIMIT 1",
        )
        .bind(self.ws)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(rules_row))
    }

    async fn automation_rules_version(&mut self, version: i64) -> StoreResult<Option<RulesRow>> {
        let row: Option<(i64, String, Micros)> = sqlx::query_as(
            "SELECT version, body, created_at FROM automation_rules
             WHERE workspace_id = $1 AND version = $2",
        )
        .bind(self.ws)
        .bind(version)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(rules_row))
    }

    async fn insert_automation_rules(&mut self, body: &str, at: Micros) -> StoreResult<i64> {
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO automation_rules (workspace_id, version, body, created_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM automation_rules
             WHERE workspace_id = $1
             RETURNING version",
        )
        .bind(self.ws)
        .bind(body)
        .bind(at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(version)
    }

    async fn enqueue(&mut self, steps: &[OutboxRow]) -> StoreResult<()> {
        // One statement per batch (a dialect's bulk form, defined by each back end): a
        // batch of events can start a run for every contact it moves.
        enqueue_rows(self, steps).await
    }

    async fn claim_due(
        &mut self,
        now: Micros,
        lease_until: Micros,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let found = sqlx::query(concat!(
            "UPDATE outbox SET status = 'running', lease_until = $3, attempts = attempts + 1
             WHERE workspace_id = $1 AND id IN (
                 SELECT id FROM outbox
                 WHERE workspace_id = $1 AND status IN ('pending', 'running') AND due_at <= $2
                   AND (status = 'pending' OR lease_until < $2)
                 ORDER BY due_at, id LIMIT $4 ",
            claim_lock!(),
            ")
             RETURNING ",
            step_columns!()
        ))
        .bind(self.ws)
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        let mut steps = rows(&found, step_row)?;
        steps.sort_by_key(|s| (s.due_at, s.id));
        Ok(steps)
    }

    async fn settle_step(
        &mut self,
        id: i64,
        status: &str,
        due_at: Micros,
        error: Option<&str>,
        at: Micros,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = $3, due_at = $4, last_error = COALESCE($5, last_error),
                 lease_until = NULL,
                 finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE $6 END
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(self.ws)
        .bind(id)
        .bind(status)
        .bind(due_at)
        .bind(error)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn signing_key(
        &mut self,
        purpose: &str,
        fresh: &[u8],
        at: Micros,
    ) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO signing_keys (workspace_id, purpose, key, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, purpose) DO NOTHING",
        )
        .bind(self.ws)
        .bind(purpose)
        .bind(fresh)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        let (key,): (Vec<u8>,) = sqlx::query_as(
            "SELECT key FROM signing_keys WHERE workspace_id = $1 AND purpose = $2",
        )
        .bind(self.ws)
        .bind(purpose)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(key)
    }

    async fn insert_message(&mut self, m: &MessageRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO messages (workspace_id, contact_id, channel, rule, rule_version, step_key,
                 recipient, subject, status, detail, at, purpose)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (workspace_id, step_key) DO UPDATE SET status = excluded.status,
                 detail = excluded.detail, at = excluded.at, subject = excluded.subject",
        )
        .bind(self.ws)
        .bind(m.contact_id.0)
        .bind(&m.channel)
        .bind(&m.rule)
        .bind(m.rule_version)
        .bind(&m.step_key)
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.status)
        .bind(&m.detail)
        .bind(m.at)
        .bind(&m.purpose)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn defer_step(&mut self, id: i64, due_at: Micros, why: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET status = 'pending', due_at = $3, last_error = $4, lease_until = NULL,
                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
             WHERE workspace_id = $1 AND id = $2",
        )
        .bind(self.ws)
        .bind(id)
        .bind(due_at)
        .bind(why)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn marketing_sent_since(
        &mut self,
        contact: ContactId,
        since: Micros,
    ) -> StoreResult<Vec<Micros>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT at FROM messages WHERE workspace_id = $1 AND contact_id = $2
               AND status = 'sent' AND purpose = 'marketing' AND at >= $3 ORDER BY at",
        )
        .bind(self.ws)
        .bind(contact.0)
        .bind(since)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows.into_iter().map(|(at,)| at).collect())
    }
}

#[async_trait]
impl AutomationReader for Db {
    async fn messages_of(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<MessageRow>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(ws.0)
        .bind(contact.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows(&found, message_row)
    }

    async fn steps_of(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
        limit: i64,
    ) -> StoreResult<Vec<OutboxRow>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            step_columns!(),
            " FROM outbox WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(ws.0)
        .bind(contact.0)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows(&found, step_row)
    }

    async fn next_due(&self) -> StoreResult<Option<Micros>> {
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(CASE WHEN status = 'pending' THEN due_at ELSE lease_until END)
             FROM outbox WHERE status IN ('pending', 'running')",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(other)?;
        Ok(due)
    }
}
