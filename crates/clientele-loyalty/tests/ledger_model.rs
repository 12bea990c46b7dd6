//! A state machine of random earn / redeem / expire / reverse / adjust sequences against a
//! small model: the balance is the sum of the open lots, the entries sum to the balance
//! minus the debt, nothing goes negative, spending takes the oldest-expiring lot first,
//! expiry leaves no lot past its time, and a spend fails exactly when the balance is short.

use clientele_loyalty::{Account, Cause, EntryKind};
use proptest::prelude::*;

const DAY: i64 = 86_400_000_000;

#[derive(Debug, Clone)]
enum Op {
    Earn {
        points: i64,
        order: Option<u8>,
        days: i64,
    },
    Redeem {
        points: i64,
    },
    Expire {
        after_days: i64,
    },
    Reverse {
        order: u8,
        share: u8,
    },
    Adjust {
        points: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0i64..500, proptest::option::of(0u8..4), 1i64..400).prop_map(|(points, order, days)| {
            Op::Earn {
                points,
                order,
                days,
            }
        }),
        (0i64..700).prop_map(|points| Op::Redeem { points }),
        (0i64..200).prop_map(|after_days| Op::Expire { after_days }),
        (0u8..4, 0u8..=100).prop_map(|(order, share)| Op::Reverse { order, share }),
        (-300i64..300).prop_map(|points| Op::Adjust { points }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn the_ledger_keeps_its_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut a = Account::default();
        let mut sum_entries = 0i64;
        let mut now = 0i64;
        // Per order: points earned and not yet reversed (what the engine may take back).
        let mut held = [0i64; 4];
        // The model's own balance and debt, kept by arithmetic alone.
        let (mut balance, mut debt) = (0i64, 0i64);
        for op in ops {
            now += DAY;
            let before = a.clone();
            match op {
                Op::Earn { points, order, days } => {
                    let order_id = order.map(|o| format!("o{o}"));
                    let e = a.earn(EntryKind::Earn, points, now, now + days * DAY,
                        Cause::new("order", "order", "x"), order_id);
                    prop_assert_eq!(e.is_some(), points > 0);
                    if let Some(e) = e {
                        sum_entries += e.points;
                        let repaid = points.min(debt);
                        debt -= repaid;
                        balance += points - repaid;
                        if let Some(o) = order { held[o as usize] += points; }
                    }
                }
                Op::Redeem { points } => {
                    let r = a.spend(EntryKind::Redeem, points, now, Cause::new("reward", "redemption", "k"));
                    prop_assert_eq!(r.is_ok(), points > 0 && points <= balance, "spend fails exactly when short");
                    if let Ok(e) = r {
                        prop_assert_eq!(e.points, -points);
                        sum_entries += e.points;
                        balance -= points;
                        // Oldest expiry first: a lot that lost points expires no later than
                        // any lot that still had points to give and kept them all.
                        let lost: Vec<_> = a.lots.iter().filter(|l| {
                            before.lots.iter().any(|b| b.no == l.no && b.remaining > l.remaining)
                        }).collect();
                        let latest_taken = lost.iter().map(|l| (l.expires_at, l.no)).max();
                        for l in &a.lots {
                            if l.remaining > 0 && let Some(t) = latest_taken {
                                let untouched = before.lots.iter().any(|b| b.no == l.no && b.remaining == l.remaining);
                                if untouched {
                                    prop_assert!((l.expires_at, l.no) > t, "lot {} skipped while {:?} was taken", l.no, t);
                                }
                            }
                        }
                    }
                }
                Op::Expire { after_days } => {
                    now += after_days * DAY;
                    for e in a.expire(now) {
                        prop_assert!(e.points < 0);
                        prop_assert!(e.at <= now);
                        sum_entries += e.points;
                        balance += e.points;
                    }
                    prop_assert!(a.lots.iter().all(|l| l.remaining == 0 || l.expires_at > now));
                }
                Op::Reverse { order, share } => {
                    let o = order as usize;
                    let points = held[o] * i64::from(share) / 100;
                    let e = a.reverse(points, now, Cause::new("refund", "order", "x"), &format!("o{o}"));
                    held[o] -= points;
                    if let Some(e) = &e {
                        prop_assert!(e.points < 0 && -e.points <= points);
                        sum_entries += e.points;
                    }
                    // Whatever was taken came off the balance or went into the debt.
                    let taken = e.map_or(0, |e| -e.points);
                    prop_assert_eq!((before.balance - a.balance) + (a.debt - before.debt), taken);
                    balance = a.balance;
                    debt = a.debt;
                }
                Op::Adjust { points } => {
                    if points >= 0 {
                        if let Some(e) = a.earn(EntryKind::Adjust, points, now, now + 365 * DAY,
                            Cause::new("goodwill", "user", "admin"), None) {
                            sum_entries += e.points;
                            let repaid = points.min(debt);
                            debt -= repaid;
                            balance += points - repaid;
                        }
                    } else {
                        let r = a.spend(EntryKind::Adjust, -points, now, Cause::new("correction", "user", "admin"));
                        prop_assert_eq!(r.is_ok(), -points <= balance);
                        if let Ok(e) = r { sum_entries += e.points; balance += points; }
                    }
                }
            }
            prop_assert_eq!(a.balance, balance, "balance as the model keeps it");
            prop_assert_eq!(a.debt, debt, "debt as the model keeps it");
            prop_assert_eq!(a.balance, a.lots.iter().map(|l| l.remaining).sum::<i64>(), "balance = open lots");
            prop_assert_eq!(sum_entries, a.balance - a.debt, "entries sum to balance minus debt");
            prop_assert!(a.balance >= 0 && a.debt >= 0);
            prop_assert!(a.lots.iter().all(|l| l.remaining >= 0 && l.remaining <= l.points && l.expired >= 0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    /// Ingest loads a paying contact's account without its lots; what it writes back must be
    /// what the fully loaded account would have written.
    #[test]
    fn earning_without_the_lots_matches_earning_with_them(
        history in proptest::collection::vec((1i64..500, 1i64..400), 0..20),
        spent in 0i64..2000,
        earnings in proptest::collection::vec((0i64..500, 1i64..400), 1..10),
    ) {
        let mut full = Account::default();
        for (i, (points, days)) in history.iter().enumerate() {
            let cause = Cause::new("order", "order", i.to_string());
            full.earn(EntryKind::Earn, *points, 0, days * DAY, cause, None);
        }
        let spend = spent.min(full.balance);
        if spend > 0 {
            full.spend(EntryKind::Redeem, spend, 0, Cause::new("r", "redemption", "k")).unwrap();
        }
        full.touched.clear();
        let mut partial = Account {
            lots: Vec::new(),
            unloaded: Some(clientele_loyalty::Unloaded { next_expiry: full.next_expiry() }),
            ..full.clone()
        };
        for (points, days) in earnings {
            for a in [&mut full, &mut partial] {
                let cause = Cause::new("order", "order", "new");
                a.earn(EntryKind::Earn, points, 0, days * DAY, cause, None);
            }
        }
        prop_assert_eq!(partial.balance, full.balance);
        prop_assert_eq!(partial.debt, full.debt);
        prop_assert_eq!(partial.next_lot, full.next_lot);
        prop_assert_eq!(partial.next_expiry(), full.next_expiry());
        // The lots written back are the same new ones.
        let written = |a: &Account| -> Vec<_> {
            a.lots.iter().filter(|l| a.touched.contains(&l.no)).cloned().collect()
        };
        prop_assert_eq!(written(&partial), written(&full));
    }
}
