// Coupons and referrals in SQL both back ends speak: included by `clientele-store-sqlite`
// and `clientele-store-postgres` (not compiled here), each defining first
//   `Tx` (its write transaction), `Db` (its store), `DbRow` (its row type),
//   `in_list!()` (how `$2` holds a list: `IN (SELECT value FROM json_each($2))` or `= ANY($2)`),
//   `fn text_list(&[String])` and `fn id_list(&[i64])` (the matching bind values), and
//   `STATS_SQL` (the one query whose dialects differ).
// One text instead of two keeps the dialects from drifting apart.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    CouponReader, CouponRow, CouponUseRow, CouponWrite, ReferralReader, ReferralRow,
    ReferralStatsRow, ReferralWrite, StoreResult,
};
use sqlx::Row;

use crate::other;

macro_rules! coupon_columns {
    () => {
        "code, kind, value, min_order, max_uses, uses, contact_id, expires_at, source, \
         source_ref, active, created_at"
    };
}
macro_rules! use_columns {
    () => {
        "code, order_id, contact_id, order_total, discount, status, reason, used_at"
    };
}
macro_rules! referral_columns {
    () => {
        "referee_id, referrer_id, status, attributed_at, window_until, order_id, converted_at, \
         referrer_points, referee_points, referrer_coupon, referee_coupon, revoked_at"
    };
}

fn coupon_row(r: &DbRow) -> Result<CouponRow, sqlx::Error> {
    Ok(CouponRow {
        code: r.try_get(0)?,
        kind: r.try_get(1)?,
        value: r.try_get(2)?,
        min_order: r.try_get(3)?,
        max_uses: r.try_get(4)?,
        uses: r.try_get(5)?,
        contact_id: r.try_get::<Option<i64>, _>(6)?.map(ContactId),
        expires_at: r.try_get(7)?,
        source: r.try_get(8)?,
        source_ref: r.try_get(9)?,
        active: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

fn use_row(r: &DbRow) -> Result<CouponUseRow, sqlx::Error> {
    Ok(CouponUseRow {
        code: r.try_get(0)?,
        order_id: r.try_get(1)?,
        contact_id: ContactId(r.try_get(2)?),
        order_total: r.try_get(3)?,
        discount: r.try_get(4)?,
        status: r.try_get(5)?,
        reason: r.try_get(6)?,
        used_at: r.try_get(7)?,
    })
}

fn referral_row(r: &DbRow) -> Result<ReferralRow, sqlx::Error> {
    Ok(ReferralRow {
        referee_id: ContactId(r.try_get(0)?),
        referrer_id: ContactId(r.try_get(1)?),
        status: r.try_get(2)?,
        attributed_at: r.try_get(3)?,
        window_until: r.try_get(4)?,
        order_id: r.try_get(5)?,
        converted_at: r.try_get(6)?,
        referrer_points: r.try_get(7)?,
        referee_points: r.try_get(8)?,
        referrer_coupon: r.try_get(9)?,
        referee_coupon: r.try_get(10)?,
        revoked_at: r.try_get(11)?,
    })
}

fn all<T>(rows: &[DbRow], f: fn(&DbRow) -> Result<T, sqlx::Error>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect::<Result<_, _>>().map_err(other)
}

#[async_trait]
impl CouponWrite for Tx {
    async fn insert_coupons(&mut self, coupons: &[CouponRow]) -> StoreResult<()> {
        let sql = concat!("INSERT INTO coupons (workspace_id, ", coupon_columns!(), ")
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
        for c in coupons {
            sqlx::query(sql)
                .bind(self.ws)
                .bind(&c.code)
                .bind(&c.kind)
                .bind(c.value)
                .bind(c.min_order)
                .bind(c.max_uses)
                .bind(c.uses)
                .bind(c.contact_id.map(|c| c.0))
                .bind(c.expires_at)
                .bind(&c.source)
                .bind(&c.source_ref)
                .bind(c.active)
                .bind(c.created_at)
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
        }
        Ok(())
    }

    async fn coupon(&mut self, code: &str) -> StoreResult<Option<CouponRow>> {
        let sql = concat!("SELECT ", coupon_columns!(), " FROM coupons WHERE workspace_id = $1 AND code = $2");
        let row = sqlx::query(sql)
            .bind(self.ws)
            .bind(code)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(other)?;
        row.as_ref().map(coupon_row).transpose().map_err(other)
    }

    async fn set_coupon_active(&mut self, code: &str, active: bool) -> StoreResult<()> {
        sqlx::query("UPDATE coupons SET active = $3 WHERE workspace_id = $1 AND code = $2")
            .bind(self.ws)
            .bind(code)
            .bind(active)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn add_coupon_uses(&mut self, code: &str, delta: i64) -> StoreResult<()> {
        sqlx::query("UPDATE coupons SET uses = uses + $3 WHERE workspace_id = $1 AND code = $2")
            .bind(self.ws)
            .bind(code)
            .bind(delta)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn coupon_uses_of(&mut self, order_ids: &[String]) -> StoreResult<Vec<CouponUseRow>> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = concat!("SELECT ", use_columns!(), " FROM coupon_uses WHERE workspace_id = $1 AND order_id ", in_list!());
        let rows = sqlx::query(sql)
            .bind(self.ws)
            .bind(text_list(order_ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(other)?;
        all(&rows, use_row)
    }

    async fn save_coupon_use(&mut self, u: &CouponUseRow) -> StoreResult<()> {
        let sql = concat!("INSERT INTO coupon_uses (workspace_id, ", use_columns!(), ")
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (workspace_id, code, order_id) DO UPDATE SET
                 order_total = excluded.order_total, discount = excluded.discount,
                 status = excluded.status, reason = excluded.reason");
        sqlx::query(sql)
            .bind(self.ws)
            .bind(&u.code)
            .bind(&u.order_id)
            .bind(u.contact_id.0)
            .bind(u.order_total)
            .bind(u.discount)
            .bind(&u.status)
            .bind(&u.reason)
            .bind(u.used_at)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }
}

#[async_trait]
impl CouponReader for Db {
    async fn coupon(&self, ws: WorkspaceId, code: &str) -> StoreResult<Option<CouponRow>> {
        let sql = concat!("SELECT ", coupon_columns!(), " FROM coupons WHERE workspace_id = $1 AND code = $2");
        let row = sqlx::query(sql)
            .bind(ws.0)
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(coupon_row).transpose().map_err(other)
    }

    async fn coupons_of(&self, ws: WorkspaceId, contact: ContactId) -> StoreResult<Vec<CouponRow>> {
        let sql = concat!("SELECT ", coupon_columns!(), " FROM coupons WHERE workspace_id = $1 AND contact_id = $2
             ORDER BY created_at DESC, code");
        let rows = sqlx::query(sql)
            .bind(ws.0)
            .bind(contact.0)
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        all(&rows, coupon_row)
    }

    async fn coupon_uses(&self, ws: WorkspaceId, code: &str) -> StoreResult<Vec<CouponUseRow>> {
        let sql = concat!("SELECT ", use_columns!(), " FROM coupon_uses WHERE workspace_id = $1 AND code = $2
             ORDER BY used_at, order_id");
        let rows = sqlx::query(sql)
            .bind(ws.0)
            .bind(code)
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        all(&rows, use_row)
    }
}

#[async_trait]
impl ReferralWrite for Tx {
    async fn referral_code_of(&mut self, contact: ContactId) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM referral_codes WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(self.ws)
        .bind(contact.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(|(c,)| c))
    }

    async fn insert_referral_code(
        &mut self,
        contact: ContactId,
        code: &str,
        at: Micros,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO referral_codes (workspace_id, contact_id, code, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(self.ws)
        .bind(contact.0)
        .bind(code)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn referrer_by_code(&mut self, code: &str) -> StoreResult<Option<ContactId>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT contact_id FROM referral_codes WHERE workspace_id = $1 AND code = $2",
        )
        .bind(self.ws)
        .bind(code)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(|(c,)| ContactId(c)))
    }

    async fn referrals_of(&mut self, referees: &[ContactId]) -> StoreResult<Vec<ReferralRow>> {
        if referees.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = referees.iter().map(|c| c.0).collect();
        let sql = concat!("SELECT ", referral_columns!(), " FROM referrals WHERE workspace_id = $1 AND referee_id ", in_list!());
        let rows = sqlx::query(sql)
            .bind(self.ws)
            .bind(id_list(&ids))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(other)?;
        all(&rows, referral_row)
    }

    async fn save_referral(&mut self, r: &ReferralRow) -> StoreResult<()> {
        let sql = concat!("INSERT INTO referrals (workspace_id, ", referral_columns!(), ")
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (workspace_id, referee_id) DO UPDATE SET
                 status = excluded.status, order_id = excluded.order_id,
                 converted_at = excluded.converted_at,
                 referrer_points = excluded.referrer_points,
                 referee_points = excluded.referee_points,
                 referrer_coupon = excluded.referrer_coupon,
                 referee_coupon = excluded.referee_coupon, revoked_at = excluded.revoked_at");
        sqlx::query(sql)
            .bind(self.ws)
            .bind(r.referee_id.0)
            .bind(r.referrer_id.0)
            .bind(&r.status)
            .bind(r.attributed_at)
            .bind(r.window_until)
            .bind(&r.order_id)
            .bind(r.converted_at)
            .bind(r.referrer_points)
            .bind(r.referee_points)
            .bind(&r.referrer_coupon)
            .bind(&r.referee_coupon)
            .bind(r.revoked_at)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }
}

#[async_trait]
impl ReferralReader for Db {
    async fn referral_code(
        &self,
        ws: WorkspaceId,
        contact: ContactId,
    ) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT code FROM referral_codes WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(ws.0)
        .bind(contact.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        Ok(row.map(|(c,)| c))
    }

    async fn referral_code_owner(
        &self,
        code: &str,
    ) -> StoreResult<Option<(WorkspaceId, ContactId)>> {
        // Two owners in two workspaces (80 random bits each) would make the link ambiguous:
        // then it leads nowhere rather than to the wrong shop.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT workspace_id, contact_id FROM referral_codes WHERE code = $1 LIMIT 2",
        )
        .bind(code)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        Ok(match rows.as_slice() {
            [(ws, c)] => Some((WorkspaceId(*ws), ContactId(*c))),
            _ => None,
        })
    }

    async fn referral_of(
        &self,
        ws: WorkspaceId,
        referee: ContactId,
    ) -> StoreResult<Option<ReferralRow>> {
        let sql = concat!("SELECT ", referral_columns!(), " FROM referrals WHERE workspace_id = $1 AND referee_id = $2");
        let row = sqlx::query(sql)
            .bind(ws.0)
            .bind(referee.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.as_ref().map(referral_row).transpose().map_err(other)
    }

    async fn referral_stats(
        &self,
        ws: WorkspaceId,
        referrer: Option<ContactId>,
        limit: i64,
    ) -> StoreResult<Vec<ReferralStatsRow>> {
        let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(STATS_SQL)
            .bind(ws.0)
            .bind(referrer.map(|c| c.0))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(other)?;
        Ok(rows
            .into_iter()
            .map(|(id, invited, converted, revoked, revenue)| ReferralStatsRow {
                referrer_id: ContactId(id),
                invited,
                converted,
                revoked,
                revenue,
            })
            .collect())
    }
}
