//! Loading ledger accounts into the pure model and writing back what changed, with one entry
//! row per change carrying the balance and debt right after it.

use std::collections::HashMap;

use clientele_core::ContactId;
use clientele_loyalty::{Account, Entry, Lot};
use clientele_store::{LotRow, LoyaltyAccountRow, LoyaltyEntryRow, StoreResult, WriteTx};

/// Accounts being changed in one transaction, and the entries made so far.
#[derive(Default)]
pub(crate) struct Books {
    accounts: HashMap<ContactId, Account>,
    entries: Vec<LoyaltyEntryRow>,
    /// Accounts to write back even without a change (a stale next expiry).
    rewrite: Vec<ContactId>,
}

impl Books {
    /// Load the accounts of `ids` (an absent account is empty).
    pub async fn load(tx: &mut dyn WriteTx, ids: &[ContactId]) -> StoreResult<Self> {
        let mut accounts: HashMap<ContactId, Account> =
            ids.iter().map(|&c| (c, Account::default())).collect();
        for row in tx.loyalty_accounts(ids).await? {
            accounts.insert(
                row.contact_id,
                Account {
                    balance: row.balance,
                    debt: row.debt,
                    next_lot: row.next_lot,
                    lots: row.lots.into_iter().map(lot).collect(),
                    touched: Default::default(),
                },
            );
        }
        Ok(Self {
            accounts,
            entries: Vec::new(),
            rewrite: Vec::new(),
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
                        .map(lot_row)
                        .collect(),
                }
            })
            .collect();
        tx.save_loyalty(&rows, &self.entries).await
    }
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

fn lot_row(l: &Lot) -> LotRow {
    LotRow {
        lot_no: l.no,
        points: l.points,
        remaining: l.remaining,
        expired: l.expired,
        earned_at: l.earned_at,
        expires_at: l.expires_at,
        order_id: l.order_id.clone(),
    }
}
