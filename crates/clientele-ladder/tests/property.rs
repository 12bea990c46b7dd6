//! Properties over random histories: nothing changes between the moments the ladder looks
//! at, and the live system — events arriving one by one, the scheduler waking the contact
//! when due — shows what a from-scratch replay of the same history shows, at any moment.

mod common;

use clientele_ladder::facts::time_changes;
use clientele_ladder::timeline::event_times;
use clientele_ladder::{
    DAY, Demotion, Facts, LadderState, Micros, OrderFact, RuleSet, evaluate, metrics_at, replay,
    rung_by_rules, status_at,
};
use proptest::prelude::*;

const KINDS: [&str; 5] = [
    "page_view",
    "email_click",
    "form_submit",
    "demo_request",
    "meeting",
];

/// One thing that happens, at a distinct microsecond.
#[derive(Debug, Clone)]
enum Happening {
    Paid {
        revenue: i64,
        unpaid_after: Option<i64>,
    },
    Interaction(usize),
    Nps(i64),
    Referral,
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        4 => (0i64..5000, prop::option::weighted(0.2, 1i64..200 * DAY))
            .prop_map(|(revenue, unpaid_after)| Happening::Paid { revenue, unpaid_after }),
        3 => (0usize..KINDS.len()).prop_map(Happening::Interaction),
        1 => (0i64..=10).prop_map(Happening::Nps),
        1 => Just(Happening::Referral),
    ]
}

/// Histories over about three years; times are made distinct so that no two things happen
/// at the same microsecond.
fn facts() -> impl Strategy<Value = Facts> {
    (
        prop::collection::vec((0i64..1100 * DAY, happening()), 0..25),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(items, contract_active, ambassador)| {
            let mut f = Facts {
                contract_active: contract_active && ambassador,
                ambassador: ambassador && !contract_active,
                ..Facts::default()
            };
            for (i, (at, h)) in items.into_iter().enumerate() {
                let at = at - at % 1000 + i as i64;
                match h {
                    Happening::Paid {
                        revenue,
                        unpaid_after,
                    } => f.orders.push(OrderFact {
                        paid_at: at,
                        unpaid_at: unpaid_after.map(|d| at + d - d % 1000 + 500),
                        revenue,
                    }),
                    Happening::Interaction(k) => f.interactions.push((at, KINDS[k].to_owned())),
                    Happening::Nps(s) => f.nps.push((at, s)),
                    Happening::Referral => f.referrals.push(at),
                }
            }
            f
        })
}

fn rules(policy: u8) -> RuleSet {
    let mut r = RuleSet::default_rules();
    r.demotion = match policy % 3 {
        0 => Demotion::Grace { days: 30 },
        1 => Demotion::Immediate,
        _ => Demotion::Never,
    };
    r
}

/// The facts known at `t`: what has happened by then (an un-payment is known once it
/// happens).
fn known(f: &Facts, t: Micros) -> Facts {
    Facts {
        orders: f
            .orders
            .iter()
            .filter(|o| o.paid_at <= t)
            .map(|o| OrderFact {
                unpaid_at: o.unpaid_at.filter(|u| *u <= t),
                ..*o
            })
            .collect(),
        interactions: f
            .interactions
            .iter()
            .filter(|(at, _)| *at <= t)
            .cloned()
            .collect(),
        nps: f.nps.iter().filter(|(at, _)| *at <= t).copied().collect(),
        referrals: f.referrals.iter().filter(|at| **at <= t).copied().collect(),
        ..f.clone()
    }
}

/// The live system: each event evaluated as it arrives with what is known then, the
/// scheduler evaluating the contact whenever it falls due.
fn live(f: &Facts, rules: &RuleSet, as_of: Micros) -> LadderState {
    let mut state = LadderState::default();
    let wake = |state: &mut LadderState, until: Micros, inclusive: bool| {
        while let Some(due) = state
            .due_at
            .filter(|d| *d < until || (inclusive && *d == until))
        {
            *state = evaluate(state, &known(f, due), rules, due).0;
        }
    };
    for t in event_times(f).into_iter().filter(|t| *t <= as_of) {
        wake(&mut state, t, false);
        state = evaluate(&state, &known(f, t), rules, t).0;
    }
    wake(&mut state, as_of, true);
    state
}

/// Only low-intent interactions, close together: the prospect rung then rests on the
/// decaying engagement score alone.
fn engagement_only() -> impl Strategy<Value = Facts> {
    prop::collection::vec(
        (
            0i64..60 * DAY,
            prop::sample::select(vec!["page_view", "email_click", "meeting"]),
        ),
        1..12,
    )
    .prop_map(|items| Facts {
        interactions: items
            .into_iter()
            .enumerate()
            .map(|(i, (at, kind))| (at - at % 1000 + i as i64, kind.to_owned()))
            .collect(),
        ..Facts::default()
    })
}

fn unchanged_between_looks(f: &Facts, t0: Micros, fraction: f64) -> Result<(), TestCaseError> {
    let rules = RuleSet::default_rules();
    let next_event = event_times(f).into_iter().find(|t| *t > t0);
    let next_time = time_changes(f, &rules, t0).first().copied();
    let Some(next) = [next_event, next_time].into_iter().flatten().min() else {
        return Ok(());
    };
    let t = t0 + ((next - t0 - 1) as f64 * fraction) as i64;
    prop_assume!(t >= t0 && t < next);
    let verdict = |at| {
        (
            rung_by_rules(&rules, &metrics_at(f, &rules, at)),
            status_at(f, at),
        )
    };
    prop_assert_eq!(verdict(t), verdict(t0), "between {} and {}", t0, next);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The engagement score's decay below a threshold is among the moments looked at.
    #[test]
    fn engagement_decay_is_looked_at(f in engagement_only(), t0 in 0i64..200 * DAY, fraction in 0.0f64..1.0) {
        unchanged_between_looks(&f, t0, fraction)?;
    }

    /// The incrementally maintained rung and status equal a from-scratch replay as of any
    /// moment.
    #[test]
    fn the_live_system_agrees_with_a_replay(f in facts(), policy in any::<u8>(), as_of in 0i64..1500 * DAY) {
        let rules = rules(policy);
        let live = live(&f, &rules, as_of);
        let (replayed, _) = replay(&f, &rules, as_of);
        prop_assert_eq!((live.rung, live.status, live.failing_since), (replayed.rung, replayed.status, replayed.failing_since));
    }

    /// Between the moments the ladder looks at (events, and the time-driven changes it
    /// predicts), neither the rules' verdict nor the status changes.
    #[test]
    fn nothing_changes_between_the_moments_the_ladder_looks_at(f in facts(), t0 in 0i64..1500 * DAY, fraction in 0.0f64..1.0) {
        unchanged_between_looks(&f, t0, fraction)?;
    }
}
