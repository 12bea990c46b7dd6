//! Earn rules: the shipped default, checks that name the path, and what an order earns.

use clientele_ladder::Rung;
use clientele_loyalty::ReferralReward;
use clientele_loyalty::earn::{PaidHistory, order_points, reversal_target, under_day_cap};
use clientele_loyalty::rules::{EarnRules, Rate};
use serde_json::json;

const DAY: i64 = 86_400_000_000;

fn first() -> PaidHistory {
    PaidHistory {
        nth: 1,
        first_paid_at: 0,
        paid_at: 0,
    }
}

#[test]
fn the_default_is_one_point_per_whole_unit_for_twelve_months() {
    let r = EarnRules::default();
    assert_eq!((r.points_per_unit, r.expiry_months), (Rate::ONE, 12));
    assert!(r.multipliers.is_empty());
    assert_eq!(r.caps.per_order, None);
    // 49.99 USD earns 49 points; 0.99 earns none; a VND order earns one per đồng.
    assert_eq!(order_points(&r, 4999, 100, Rung::Client, first()).total, 49);
    assert_eq!(order_points(&r, 99, 100, Rung::Shopper, first()).total, 0);
    assert_eq!(
        order_points(&r, 250_000, 1, Rung::Shopper, first()).total,
        250_000
    );
    assert_eq!(EarnRules::from_json(&r.to_json()).unwrap(), r, "round trip");
}

#[test]
fn multipliers_bonuses_and_caps_apply() {
    let r = EarnRules::from_json(&json!({
        "points_per_unit": 2,
        "multipliers": {"client": 1.5},
        "bonuses": {"first_order": 100, "second_order_within_30_days": 50},
        "caps": {"per_order": 400, "per_day": 500}
    }))
    .unwrap();
    // 33 units × 2 × 1.5 = 99.
    let e = order_points(&r, 3300, 100, Rung::Client, first());
    assert_eq!((e.base, e.total), (99, 199));
    let second = |days: i64| PaidHistory {
        nth: 2,
        first_paid_at: 0,
        paid_at: days * DAY,
    };
    assert_eq!(
        order_points(&r, 1000, 100, Rung::Shopper, second(30)).total,
        70
    );
    assert_eq!(
        order_points(&r, 1000, 100, Rung::Shopper, second(31)).total,
        20
    );
    assert_eq!(
        order_points(&r, 100_000, 100, Rung::Shopper, second(40)).total,
        400,
        "per-order cap"
    );
    assert_eq!(under_day_cap(&r, 400, 300), 200);
    assert_eq!(under_day_cap(&r, 400, 600), 0);
}

#[test]
fn a_refund_takes_back_the_share_it_refunds() {
    assert_eq!(reversal_target(100, 5000, 5000, false), 100);
    assert_eq!(reversal_target(100, 5000, 2500, false), 50);
    assert_eq!(reversal_target(100, 5000, 4999, false), 99);
    assert_eq!(reversal_target(100, 5000, 5000, true), 0, "cancelled");
    assert_eq!(
        reversal_target(100, 0, 0, false),
        100,
        "zero-value order keeps its bonus"
    );
    assert_eq!(reversal_target(100, 0, 0, true), 0);
}

#[test]
fn bad_rules_name_the_path() {
    let cases = [
        (json!({"points_per_unit": 0}), "points_per_unit"),
        (json!({"points_per_unit": "1"}), "points_per_unit"),
        (json!({"points_per_unit": 0.0001}), "points_per_unit"),
        (json!({"expiry_months": 0}), "expiry_months"),
        (json!({"expiry_months": 1.5}), "expiry_months"),
        (json!({"multipliers": {"vip": 2}}), "multipliers.vip"),
        (json!({"multipliers": {"client": -1}}), "multipliers.client"),
        (
            json!({"bonuses": {"first_order": -5}}),
            "bonuses.first_order",
        ),
        (
            json!({"bonuses": {"anniversary": 5}}),
            "bonuses.anniversary",
        ),
        (json!({"caps": {"per_day": 0}}), "caps.per_day"),
        (json!({"caps": {"per_week": 10}}), "caps.per_week"),
        (json!({"points": 1}), "points"),
        (json!({"enabled": "yes"}), "enabled"),
        (json!([1]), ""),
        (
            json!({"referrals": {"window_days": 0}}),
            "referrals.window_days",
        ),
        (json!({"referrals": {"bonus": 1}}), "referrals.bonus"),
        (json!({"referrals": {"referrer": {}}}), "referrals.referrer"),
        (
            json!({"referrals": {"referrer": {"points": 1, "coupon": {}}}}),
            "referrals.referrer",
        ),
        (
            json!({"referrals": {"referee": {"coupon": {"kind": "percent", "value": 101}}}}),
            "referrals.referee.coupon.value",
        ),
        (
            json!({"referrals": {"referee": {"coupon": {"kind": "free", "value": 1}}}}),
            "referrals.referee.coupon.kind",
        ),
        (
            json!({"referrals": {"referee": {"coupon": {"kind": "fixed", "value": 5, "ttl": 3}}}}),
            "referrals.referee.coupon.ttl",
        ),
        (
            json!({"referrals": {"landing_url": "ftp://x"}}),
            "referrals.landing_url",
        ),
    ];
    for (doc, path) in cases {
        let e = EarnRules::from_json(&doc).expect_err(&doc.to_string());
        assert_eq!(e.path, path, "{doc}: {e}");
        assert!(!e.reason.is_empty());
    }
}

#[test]
fn toml_errors_say_where() {
    let e = EarnRules::from_toml("points_per_unit = ").unwrap_err();
    assert!(e.path.starts_with("byte "), "{e}");
}

#[test]
fn referral_rules_default_and_round_trip() {
    let r = EarnRules::default().referrals;
    assert!(r.enabled);
    assert_eq!(r.window_days, 60);
    assert_eq!(r.referrer, ReferralReward::Points(200));
    assert_eq!(r.referee, ReferralReward::Points(100));
    let doc = json!({"referrals": {"window_days": 30, "landing_url": "https://shop.vn/join",
        "referee": {"coupon": {"kind": "fixed", "value": 50_000, "min_order": 200_000}}}});
    let rules = EarnRules::from_json(&doc).unwrap();
    assert_eq!(EarnRules::from_json(&rules.to_json()).unwrap(), rules);
    assert_eq!(
        rules.referrals.referrer,
        ReferralReward::Points(200),
        "unnamed side keeps its default"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// Any JSON document is either accepted (and then survives its own round trip) or
    /// refused with a path; never a panic.
    #[test]
    fn any_document_is_checked_without_panicking(doc in json_doc()) {
        if let Ok(rules) = EarnRules::from_json(&doc) {
            proptest::prop_assert_eq!(EarnRules::from_json(&rules.to_json()).unwrap(), rules);
        }
    }
}

/// Documents shaped like earn rules, with wrong values mixed in.
fn json_doc() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-5i64..400).prop_map(serde_json::Value::from),
        (-2.0f64..5.0).prop_map(serde_json::Value::from),
        prop_oneof![
            Just("percent"),
            Just("fixed"),
            Just("https://a.vn"),
            Just("x")
        ]
        .prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("enabled"),
        Just("points_per_unit"),
        Just("expiry_months"),
        Just("multipliers"),
        Just("bonuses"),
        Just("caps"),
        Just("referrals"),
        Just("window_days"),
        Just("referrer"),
        Just("referee"),
        Just("points"),
        Just("coupon"),
        Just("kind"),
        Just("value"),
        Just("min_order"),
        Just("valid_days"),
        Just("landing_url"),
        Just("client"),
        Just("first_order"),
        Just("per_day"),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        proptest::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| {
            serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        })
    })
}
