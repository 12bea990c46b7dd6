//! Every boundary of the default rules (DESIGN §2), as a table, and time passing without
//! events: the window sliding, tenure growing, lapse and at-risk thresholds, grace periods.

mod common;

use clientele_ladder::{
    Facts, LadderState, OrderFact, Reason, RuleSet, Rung, Status, explain, metrics_at, replay,
    rung_by_rules,
};
use common::*;

/// The rules' verdict as of the end of day `d` (before any grace period).
fn rung_as_of(f: &Facts, d: i64) -> Rung {
    let rules = RuleSet::default_rules();
    rung_by_rules(&rules, &metrics_at(f, &rules, end_of(d)))
}

fn state_as_of(f: &Facts, t: i64) -> LadderState {
    replay(f, &RuleSet::default_rules(), t).0
}

fn with(mut f: Facts, change: impl FnOnce(&mut Facts)) -> Facts {
    change(&mut f);
    f
}

#[test]
fn the_rule_boundaries() {
    let four_over_half_a_year = [0, 60, 120, 179];
    let cases: Vec<(&str, Facts, i64, Rung)> = vec![
        ("no order", Facts::default(), 10, Rung::Suspect),
        ("one order", orders(&[0]), 10, Rung::Shopper),
        ("two orders", orders(&[0, 5]), 10, Rung::Customer),
        (
            "four orders, tenure 179 days",
            orders(&four_over_half_a_year),
            179,
            Rung::Customer,
        ),
        (
            "four orders, tenure 180 days",
            orders(&four_over_half_a_year),
            180,
            Rung::Client,
        ),
        // Orders on days 0, 1, 200, 201 seen on day 365: day 0 has left the window
        // (365 days ago), day 1 has not (364 days ago): 3 in the last 365 days.
        (
            "3 orders in the window at its edge",
            orders(&[0, 1, 200, 201]),
            365,
            Rung::Client,
        ),
        (
            "2 orders in the window a day later",
            orders(&[0, 1, 200, 201]),
            366,
            Rung::Customer,
        ),
        (
            "NPS 8",
            with(orders(&[0, 5]), |f| f.nps = vec![(day(6), 8)]),
            10,
            Rung::Customer,
        ),
        (
            "NPS 9",
            with(orders(&[0, 5]), |f| f.nps = vec![(day(6), 9)]),
            10,
            Rung::Advocate,
        ),
        (
            "NPS 9 from a shopper",
            with(orders(&[0]), |f| f.nps = vec![(day(6), 9)]),
            10,
            Rung::Shopper,
        ),
        ("referrals 0", orders(&[0, 5]), 10, Rung::Customer),
        (
            "referrals 1",
            with(orders(&[0, 5]), |f| f.referrals = vec![day(7)]),
            10,
            Rung::Advocate,
        ),
        (
            "referrals 5",
            with(orders(&[0]), |f| f.referrals = (1..=5).map(day).collect()),
            10,
            Rung::RavingFan,
        ),
        (
            "ambassador",
            with(Facts::default(), |f| f.ambassador = true),
            10,
            Rung::RavingFan,
        ),
        (
            "contract",
            with(orders(&[0]), |f| f.contract_active = true),
            10,
            Rung::Client,
        ),
        (
            "a full refund un-pays an order",
            with(orders(&[0, 5]), |f| f.orders[1].unpaid_at = Some(day(8))),
            10,
            Rung::Shopper,
        ),
        (
            "a partial refund does not",
            with(orders(&[0, 5]), |f| f.orders[1].revenue = 400),
            10,
            Rung::Customer,
        ),
        (
            "zero-value orders count",
            with(orders(&[0, 5]), |f| {
                f.orders.iter_mut().for_each(|o| o.revenue = 0)
            }),
            10,
            Rung::Customer,
        ),
        (
            "a high-intent interaction makes a prospect for 90 days",
            with(Facts::default(), |f| {
                f.interactions = vec![(day(0), "demo_request".into())]
            }),
            89,
            Rung::Prospect,
        ),
        (
            "and not after",
            with(Facts::default(), |f| {
                f.interactions = vec![(day(0), "demo_request".into())]
            }),
            90,
            Rung::Suspect,
        ),
    ];
    for (name, facts, as_of, want) in cases {
        assert_eq!(rung_as_of(&facts, as_of), want, "{name}");
    }
}

#[test]
fn the_explanation_says_which_rule_held_and_what_the_next_rung_lacks() {
    let rules = RuleSet::default_rules();
    let m = metrics_at(&orders(&[0, 60, 120]), &rules, end_of(150));
    let e = explain(&rules, &m);
    assert_eq!(e.rung, Rung::Customer);
    let next = e.next.unwrap();
    assert_eq!(next.rung, Rung::Client);
    let paid = next
        .checks
        .iter()
        .find(|c| c.metric == "paid_orders")
        .unwrap();
    assert_eq!((paid.holds, paid.short_by), (false, Some(1.0)));
    let tenure = next
        .checks
        .iter()
        .find(|c| c.metric == "tenure_days")
        .unwrap();
    assert_eq!(tenure.short_by, Some(30.0));
}

#[test]
fn time_alone_moves_a_client_down_to_customer_after_the_grace_period() {
    // Client from day 180 (4 orders, 3 in the window). On day 425 the day-60 order leaves
    // the window: the rules fail then, and the demotion waits out 30 days.
    let f = orders(&[0, 60, 120, 179]);
    assert_eq!(rung_as_of(&f, 424), Rung::Client);
    let s = state_as_of(&f, end_of(425));
    assert_eq!((s.rung, s.failing_since), (Rung::Client, Some(day(425))));
    assert_eq!(
        state_as_of(&f, day(455) - 1).rung,
        Rung::Client,
        "still inside the grace"
    );
    let (s, history) = replay(&f, &RuleSet::default_rules(), day(455));
    assert_eq!(
        s.rung,
        Rung::Customer,
        "demoted at the grace period's last instant"
    );
    let last = history
        .iter()
        .rev()
        .find(|c| c.reason == Reason::DemotedAfterGrace)
        .unwrap();
    assert_eq!(last.at, day(455));
}

#[test]
fn a_contact_who_recovers_inside_the_grace_keeps_the_rung() {
    // The rules fail on day 425; an order on day 440, inside the grace, restores them
    // (until day 485, when day 120 leaves the window).
    let mut f = orders(&[0, 60, 120, 179]);
    f.orders.push(paid(440));
    let (s, history) = replay(&f, &RuleSet::default_rules(), end_of(484));
    assert_eq!((s.rung, s.failing_since), (Rung::Client, None));
    assert!(
        history
            .iter()
            .all(|c| c.reason != Reason::DemotedAfterGrace)
    );
}

#[test]
fn at_risk_and_lapsed_at_the_right_instant() {
    // Orders every 10 days: the mean gap is 10, so at risk after 90 days of quiet.
    let f = orders(&[0, 10, 20]);
    assert_eq!(
        state_as_of(&f, day(110)).status,
        Status::Active,
        "90 days exactly"
    );
    assert_eq!(
        state_as_of(&f, day(110) + 1).status,
        Status::AtRisk,
        "just past 90 days"
    );
    assert_eq!(state_as_of(&f, day(385) - 1).status, Status::AtRisk);
    assert_eq!(
        state_as_of(&f, day(385)).status,
        Status::Lapsed,
        "365 days without an order"
    );
    // A contact whose last order is dated D − 365 is lapsed as of D.
    assert_eq!(
        state_as_of(&orders(&[0]), end_of(365)).status,
        Status::Lapsed
    );
    assert_eq!(
        state_as_of(&orders(&[0]), end_of(364)).status,
        Status::AtRisk
    );
    // A long mean gap moves the at-risk threshold: orders 100 days apart → 200 days.
    let slow = orders(&[0, 100, 200]);
    assert_eq!(state_as_of(&slow, day(400)).status, Status::Active);
    assert_eq!(state_as_of(&slow, day(400) + 1).status, Status::AtRisk);
    // P(alive) under one half puts a paying contact at risk.
    let doubtful = Facts {
        p_alive: Some((day(3), 0.4)),
        ..orders(&[0])
    };
    assert_eq!(
        state_as_of(&doubtful, day(3) - 1).status,
        Status::Active,
        "before the fit"
    );
    assert_eq!(state_as_of(&doubtful, day(5)).status, Status::AtRisk);
    assert_eq!(
        state_as_of(&Facts::default(), day(5)).status,
        Status::Active,
        "never paid"
    );
}

#[test]
fn immediate_and_never_policies() {
    let f = orders(&[0, 60, 120, 179]);
    let mut rules = RuleSet::default_rules();
    rules.demotion = clientele_ladder::Demotion::Immediate;
    assert_eq!(replay(&f, &rules, day(425)).0.rung, Rung::Customer);
    rules.demotion = clientele_ladder::Demotion::Never;
    assert_eq!(replay(&f, &rules, day(2000)).0.rung, Rung::Client);
    let unpaid = Facts {
        orders: vec![OrderFact {
            unpaid_at: Some(day(3)),
            ..paid(0)
        }],
        ..Facts::default()
    };
    assert_eq!(
        replay(&unpaid, &rules, day(10)).0.rung,
        Rung::Shopper,
        "never demotes"
    );
}
