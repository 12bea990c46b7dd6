//! The write transaction: small batch primitives that the engine composes into ingest,
//! merge and replay. Each back end implements them with set-based SQL (multi-row VALUES on
//! SQLite, UNNEST arrays on PostgreSQL), so a batch costs a handful of round trips.

use async_trait::async_trait;
use clientele_core::ContactId;
use clientele_core::contact::{ContactFields, ContactKind, IdentityKey};
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::{OrderState, ProjectionInput};
use clientele_core::time::Micros;

use crate::{
    AutomationWrite, CareWrite, CouponWrite, LadderWrite, LoyaltyWrite, NewEvent, ReferralWrite,
    StoreResult,
};

/// A write transaction on one workspace. Dropping it without [`WriteTx::commit`] rolls back.
#[async_trait]
pub trait WriteTx:
    LadderWrite + LoyaltyWrite + CouponWrite + ReferralWrite + AutomationWrite + CareWrite + Send
{
    /// `(client_id, body_hash)` of the given ids already in the log.
    async fn existing_events(
        &mut self,
        client_ids: &[String],
    ) -> StoreResult<Vec<(String, Vec<u8>)>>;
    /// The live contact each known identity resolves to.
    async fn resolve(&mut self, keys: &[IdentityKey])
    -> StoreResult<Vec<(IdentityKey, ContactId)>>;
    /// For each given id that exists, the live contact it now is (following a merge).
    async fn live_ids(&mut self, ids: &[ContactId]) -> StoreResult<Vec<(ContactId, ContactId)>>;
    /// Insert contacts with their identities, returning their ids in input order. The caller
    /// has resolved the identities first, under this transaction's lock.
    async fn insert_contacts(
        &mut self,
        contacts: &[ContactFields],
        now: Micros,
    ) -> StoreResult<Vec<ContactId>>;
    /// The fields of a live contact.
    async fn contact_fields(&mut self, id: ContactId) -> StoreResult<Option<ContactFields>>;
    /// Overwrite a live contact's fields and identities.
    async fn update_contact(
        &mut self,
        id: ContactId,
        fields: &ContactFields,
        now: Micros,
    ) -> StoreResult<()>;
    /// Erase a contact's personal fields and identities and mark it deleted; its events stay.
    async fn delete_contact(&mut self, id: ContactId, now: Micros) -> StoreResult<()>;
    /// Append events in order.
    async fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<()>;
    /// Orders by id.
    async fn load_orders(&mut self, order_ids: &[String]) -> StoreResult<Vec<OrderState>>;
    /// Every order whose buyer is one of `contacts`.
    async fn load_orders_of(&mut self, contacts: &[ContactId]) -> StoreResult<Vec<OrderState>>;
    /// Insert or replace orders.
    async fn save_orders(&mut self, orders: &[OrderState]) -> StoreResult<()>;
    /// Stored metrics of contacts that have a row.
    async fn load_metrics(
        &mut self,
        contacts: &[ContactId],
    ) -> StoreResult<Vec<(ContactId, StoredMetrics)>>;
    /// Insert or replace metrics rows.
    async fn save_metrics(&mut self, rows: &[(ContactId, StoredMetrics)]) -> StoreResult<()>;
    /// Remove one contact's metrics row.
    async fn delete_metrics(&mut self, contact: ContactId) -> StoreResult<()>;
    /// Point every event, order, identity, membership and consent of `from` at `to`, and
    /// mark `from` as merged into `to`.
    async fn fold_contact(
        &mut self,
        from: ContactId,
        to: ContactId,
        now: Micros,
    ) -> StoreResult<()>;
    /// Record a consent change.
    async fn add_consent(
        &mut self,
        contact: ContactId,
        channel: &str,
        granted: bool,
        source: &str,
        now: Micros,
    ) -> StoreResult<()>;
    /// Add (or update the role of) a person in a company.
    async fn add_member(
        &mut self,
        company: ContactId,
        person: ContactId,
        role: Option<&str>,
    ) -> StoreResult<()>;
    /// The kind of a live contact.
    async fn contact_kind(&mut self, id: ContactId) -> StoreResult<Option<ContactKind>>;
    /// Delete every projection row (orders, metrics) before a replay.
    async fn clear_projections(&mut self) -> StoreResult<()>;
    /// Up to `limit` events with `seq > after`, in log order, as projection input.
    async fn events_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, ProjectionInput)>>;
    /// Make everything durable.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
