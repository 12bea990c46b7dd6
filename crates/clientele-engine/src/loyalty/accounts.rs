//! Loading ledger accounts into the pure model and writing back what changed, with one entry
//! row per change carrying the balance and debt right after it.

use std::collections::HashMap;

use clientele_core::ContactId;
use clientele_core::time::Micros;
use clientele_loyalty::{Account, Entry, Lot, Unloaded};
use clientele_store::{LotRow, LoyaltyAccountRow, LoyaltyEntryRow, StoreResult, WriteTx};

/// Accounts being changed in one transaction, and the entries made so far.
#[derive(Default)]
pub(crate) struct Books {
    accounts: HashMap<ContactId, Account>,
    entries: Vec<LoyaltyEntryRow>,
    /// Accounts to write back even without a change (a stale next expiry).
    rewrite: Vec<ContactId>,
    /// Accounts that exist in the store, with the highest lot number stored: lots above it
    /// are new.
    stored: HashMap<ContactId, i64>,
}

impl Books {
    /// Load the accounts of `ids` with their lots (an absent account is empty).
    pub async fn load(tx: &mut dyn WriteTx, ids: &[ContactId]) -> StoreResult<Self> {
        Self::load_for_earning(tx, &[], ids, Micros::MIN).await
    }

    /// Load the accounts of `earning` (which only earn and expire by `now`) and `full`
    /// (which may also spend or reverse). Earning needs no lots: a contact's lots are read
    /// only when some are due by `now` or the account is in `full`, since a long-standing
    /// customer may hold hundreds of them.
    pub async fn load_for_earning(
        tx: &mut dyn WriteTx,
        earning: &[ContactId],
        full: &[ContactId],
        now: Micros,
    ) -> StoreResult<Self> {
        let mut accounts: HashMap<ContactId, Account> = HashMap::new();
        let mut stored: HashMap<ContactId, i64> = HashMap::new();
        let mut complete: Vec<ContactId> = full.to_vec();
        let full_set: std::collections::HashSet<ContactId> = full.iter().copied().collect();
        let earning: Vec<ContactId> = earning
            .iter()
            .copied()
            .filter(|c| !full_set.contains(c))
            .collect();
        let bare = if earning.is_empty() {
            Vec::new()
        } else {
            tx.loyalty_accounts(&earning, false).await?
        };
        for row in bare {
            stored.insert(row.contact_id, row.next_lot);
            if row.next_expiry.is_some_and(|e| e <= now) {
                // Lots are due: expiring them needs them.
                complete.push(row.contact_id);
            } else {
                let unloaded = Unloaded {
                    next_expiry: row.next_expiry,
                };
                let (id, mut a) = account(row);
                a.unloaded = Some(unloaded);
                accounts.insert(id, a);
            }
        }
        let loaded = if complete.is_empty() {
            Vec::new()
        } else {
            tx.loyalty_accounts(&complete, true).await?
        };
        for row in loaded {
            let last = row
                .lots
                .iter()
                .map(|l| l.lot_no)
                .fold(row.next_lot, i64::max);
            stored.insert(row.contact_id, last);
            let (id, a) = account(row);
            accounts.insert(id, a);
        }
        for &c in earning.iter().chain(full) {
            accounts.entry(c).or_default();
        }
        Ok(Self {
            accounts,
            entries: Vec::new(),
            rewrite: Vec::new(),
            stored,
        })
    }

    /// The account of `id` (loaded or empty).
    pub fn account(&mut self, id: ContactId) -> &mut Account {
        self.accounts.entry(id).or_default()
    }

    /// Record an entry of `id`'s account, stamped with the account's state now.
    pub fn record(&mut self, id: ContactId, entry: Entry) {
        let a = self.account(id);
        let (balance_after, debt_after) = (a.balance, a.debt);
        self.entries.push(LoyaltyEntryRow {
            id: 0,
            contact_id: id,
            kind: entry.kind.as_str().to_owned(),
            points: entry.points,
            at: entry.at,
            reason: entry.reason,
            ref_kind: entry.reference.0,
            ref_id: entry.reference.1,
            balance_after,
            debt_after,
        });
    }

    /// Write `id`'s account back even if nothing changes (its next expiry is recomputed).
    pub fn rewrite(&mut self, id: ContactId) {
        self.rewrite.push(id);
    }

    /// Write back every account that changed and append the entries.
    pub async fn save(self, tx: &mut dyn WriteTx) -> StoreResult<()> {
        // A reversal that only forgives expired points changes a lot without an entry.
        let mut changed: Vec<ContactId> = self.entries.iter().map(|e| e.contact_id).collect();
        changed.extend(
            self.accounts
                .iter()
                .filter(|(_, a)| !a.touched.is_empty())
                .map(|(id, _)| *id),
        );
        changed.extend(self.rewrite.iter().copied());
        if changed.is_empty() {
            return Ok(());
        }
        changed.sort_unstable();
        changed.dedup();
        let rows: Vec<LoyaltyAccountRow> = changed
            .iter()
            .map(|id| {
                let a = &self.accounts[id];
                let last_stored = self.stored.get(id).copied();
                LoyaltyAccountRow {
                    contact_id: *id,
                    balance: a.balance,
                    debt: a.debt,
                    next_lot: a.next_lot,
                    next_expiry: a.next_expiry(),
                    lots: a
                        .lots
                        .iter()
                        .filter(|l| a.touched.contains(&l.no))
                        .map(|l| lot_row(l, last_stored.is_some_and(|n| l.no <= n)))
                        .collect(),
                    stored: last_stored.is_some(),
                }
            })
            .collect();
        tx.save_loyalty(&rows, &self.entries).await
    }
}

fn account(row: LoyaltyAccountRow) -> (ContactId, Account) {
    let a = Account {
        balance: row.balance,
        debt: row.debt,
        next_lot: row.next_lot,
        lots: row.lots.into_iter().map(lot).collect(),
        touched: Default::default(),
        unloaded: None,
    };
    (row.contact_id, a)
}

fn lot(r: LotRow) -> Lot {
    Lot {
        no: r.lot_no,
        points: r.points,
        remaining: r.remaining,
        expired: r.expired,
        earned_at: r.earned_at,
        expires_at: r.expires_at,
        order_id: r.order_id,
    }
}

fn lot_row(l: &Lot, stored: bool) -> LotRow {
    LotRow {
        lot_no: l.no,
        points: l.points,
        remaining: l.remaining,
        expired: l.expired,
        earned_at: l.earned_at,
        expires_at: l.expires_at,
        order_id: l.order_id.clone(),
        stored,
    }
}
