//! The points ledger of one contact. Earned points form lots that expire; spending takes
//! from the lot that expires first; a reversal takes back from the order's own lot, then
//! from the others, and records what was already spent as a debt that later earnings repay
//! — the balance never goes below zero. Every change is an immutable entry, so that the
//! entries always sum to the balance minus the debt.

use std::collections::BTreeSet;

use crate::Micros;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Points earned (positive).
    Earn,
    /// Points spent (negative).
    Redeem,
    /// Points that reached their lot's expiry (negative).
    Expire,
    /// An operator's correction (either sign).
    Adjust,
    /// Points an order gives back after a refund or cancellation (negative).
    Reverse,
}

impl EntryKind {
    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earn => "earn",
            Self::Redeem => "redeem",
            Self::Expire => "expire",
            Self::Adjust => "adjust",
            Self::Reverse => "reverse",
        }
    }

    /// Parse the spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Earn,
            Self::Redeem,
            Self::Expire,
            Self::Adjust,
            Self::Reverse,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One immutable change of a contact's points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What it records.
    pub kind: EntryKind,
    /// Signed points.
    pub points: i64,
    /// When it took effect.
    pub at: Micros,
    /// Why (`order`, `bonus:first_order`, `reward`, `expiry`, an operator's note…).
    pub reason: String,
    /// What it refers to: (`order`, id), (`redemption`, key), (`lot`, number)…
    pub reference: (String, String),
}

/// Why an entry was made: its reason and what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `order`, `bonus:first_order`, `reward`, an operator's note…
    pub reason: String,
    /// (`order`, id), (`redemption`, key), (`event`, id)…
    pub reference: (String, String),
}

impl Cause {
    /// A cause from its parts.
    pub fn new(reason: &str, kind: &str, id: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            reference: (kind.to_owned(), id.into()),
        }
    }
}

/// Points earned together, expiring together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// Number of the lot within the contact's ledger (1, 2, …).
    pub no: i64,
    /// Points put in.
    pub points: i64,
    /// Points still in it.
    pub remaining: i64,
    /// Points that expired and were not given back by a reversal since.
    pub expired: i64,
    /// When it was earned.
    pub earned_at: Micros,
    /// When what remains expires.
    pub expires_at: Micros,
    /// The order that earned it, when one did.
    pub order_id: Option<String>,
}

/// A spend the balance does not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("insufficient points: {wanted} wanted, {balance} available")]
pub struct Insufficient {
    /// Points asked for.
    pub wanted: i64,
    /// Points available.
    pub balance: i64,
}

/// A contact's points: the balance, the debt, and the lots still relevant (open ones, and
/// those a reversal may still need).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Points available; always the sum of the lots' `remaining`.
    pub balance: i64,
    /// Points owed after reversals of spent points; repaid by the next earnings.
    pub debt: i64,
    /// Lots, any order.
    pub lots: Vec<Lot>,
    /// The number the next lot gets.
    pub next_lot: i64,
    /// Lots changed since loading (to write back).
    pub touched: BTreeSet<i64>,
    /// Set when the account was loaded without its lots, for earning only. Spending and
    /// reversing need every lot and must not be called on such an account.
    pub unloaded: Option<Unloaded>,
}

/// What an account loaded without its lots knows of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unloaded {
    /// The earliest expiry among the open lots left in the store.
    pub next_expiry: Option<Micros>,
}

impl Account {
    /// Earn `points` at `at` (expiring at `expires_at`): the debt is repaid first, the rest
    /// becomes a new lot. Nothing for zero or fewer points.
    pub fn earn(
        &mut self,
        kind: EntryKind,
        points: i64,
        at: Micros,
        expires_at: Micros,
        cause: Cause,
        order_id: Option<String>,
    ) -> Option<Entry> {
        if points <= 0 {
            return None;
        }
        let repaid = points.min(self.debt);
        self.debt -= repaid;
        let rest = points - repaid;
        if rest > 0 {
            self.next_lot = self.next_lot.max(self.max_lot()) + 1;
            let no = self.next_lot;
            self.lots.push(Lot {
                no,
                points: rest,
                remaining: rest,
                expired: 0,
                earned_at: at,
                expires_at,
                order_id,
            });
            self.touched.insert(no);
            self.balance += rest;
        }
        Some(Entry {
            kind,
            points,
            at,
            reason: cause.reason,
            reference: cause.reference,
        })
    }

    /// Spend `points` (a redemption, or a negative adjustment), oldest-expiring lot first.
    pub fn spend(
        &mut self,
        kind: EntryKind,
        points: i64,
        at: Micros,
        cause: Cause,
    ) -> Result<Entry, Insufficient> {
        debug_assert!(self.complete(), "spending needs every lot");
        if points <= 0 || points > self.balance {
            return Err(Insufficient {
                wanted: points,
                balance: self.balance,
            });
        }
        let left = self.take_fifo(points, None);
        debug_assert_eq!(left, 0, "the balance covered it");
        Ok(Entry {
            kind,
            points: -points,
            at,
            reason: cause.reason,
            reference: cause.reference,
        })
    }

    /// Expire every lot whose time has come by `now`, one entry per lot, dated at its expiry.
    pub fn expire(&mut self, now: Micros) -> Vec<Entry> {
        debug_assert!(
            self.unloaded
                .is_none_or(|u| u.next_expiry.is_none_or(|e| e > now)),
            "lots due by now must be loaded"
        );
        let mut due: Vec<usize> = (0..self.lots.len())
            .filter(|&i| self.lots[i].remaining > 0 && self.lots[i].expires_at <= now)
            .collect();
        due.sort_by_key(|&i| (self.lots[i].expires_at, self.lots[i].no));
        due.into_iter()
            .map(|i| {
                let lot = &mut self.lots[i];
                let gone = lot.remaining;
                lot.remaining = 0;
                lot.expired += gone;
                self.balance -= gone;
                self.touched.insert(lot.no);
                Entry {
                    kind: EntryKind::Expire,
                    points: -gone,
                    at: lot.expires_at,
                    reason: "expiry".to_owned(),
                    reference: ("lot".to_owned(), lot.no.to_string()),
                }
            })
            .collect()
    }

    /// Take back `points` an order earned: from its own lots first, forgiving what of them
    /// already expired, then from the other lots oldest first; what is still missing was
    /// spent and becomes debt. `None` for zero or fewer points, or when all was forgiven.
    pub fn reverse(
        &mut self,
        points: i64,
        at: Micros,
        cause: Cause,
        order_id: &str,
    ) -> Option<Entry> {
        debug_assert!(self.complete(), "reversing needs every lot");
        if points <= 0 {
            return None;
        }
        let mut left = self.take_fifo(points, Some(order_id));
        let mut forgiven = 0;
        for lot in self
            .lots
            .iter_mut()
            .filter(|l| l.order_id.as_deref() == Some(order_id) && l.expired > 0)
        {
            let f = left.min(lot.expired);
            lot.expired -= f;
            left -= f;
            forgiven += f;
            if f > 0 {
                self.touched.insert(lot.no);
            }
        }
        left = self.take_fifo(left, None);
        self.debt += left;
        let taken = points - forgiven;
        (taken > 0).then(|| Entry {
            kind: EntryKind::Reverse,
            points: -taken,
            at,
            reason: cause.reason,
            reference: cause.reference,
        })
    }

    /// When the next open lot expires.
    pub fn next_expiry(&self) -> Option<Micros> {
        self.lots
            .iter()
            .filter(|l| l.remaining > 0)
            .map(|l| l.expires_at)
            .chain(self.unloaded.and_then(|u| u.next_expiry))
            .min()
    }

    /// Whether every lot that matters is loaded (not an earning-only account).
    pub fn complete(&self) -> bool {
        self.unloaded.is_none()
    }

    /// Take up to `points` from open lots (only the order's when `only_order` is given),
    /// oldest expiry first; returns what could not be taken.
    fn take_fifo(&mut self, points: i64, only_order: Option<&str>) -> i64 {
        let mut open: Vec<usize> = (0..self.lots.len())
            .filter(|&i| {
                let l = &self.lots[i];
                l.remaining > 0 && only_order.is_none_or(|o| l.order_id.as_deref() == Some(o))
            })
            .collect();
        open.sort_by_key(|&i| (self.lots[i].expires_at, self.lots[i].no));
        let mut left = points;
        for i in open {
            if left == 0 {
                break;
            }
            let lot = &mut self.lots[i];
            let t = left.min(lot.remaining);
            lot.remaining -= t;
            left -= t;
            self.balance -= t;
            self.touched.insert(lot.no);
        }
        left
    }

    fn max_lot(&self) -> i64 {
        self.lots.iter().map(|l| l.no).max().unwrap_or(0)
    }
}
