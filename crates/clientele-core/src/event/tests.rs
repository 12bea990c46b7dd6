use super::*;
use crate::contact::{IdentityKey, IdentityKind};
use serde_json::json;

fn ctx() -> EventContext {
    EventContext {
        currency: Currency::parse("USD").unwrap(),
        region: Region::parse("VN").unwrap(),
    }
}

fn paid(total: Value) -> Value {
    json!({
        "id": "e1", "kind": "order.paid", "occurred_at": "1997-01-01T00:00:00Z",
        "contact": {"external_id": "00001"},
        "data": {"order_id": "o1", "total": total, "currency": "USD",
                 "lines": [{"sku": "cd", "name": "CD", "quantity": 1, "unit_price": 1129}]}
    })
}

#[test]
fn a_paid_order_parses_with_its_amount_and_contact() {
    let e = ValidEvent::parse(&paid(json!(1129)), &ctx()).unwrap();
    assert_eq!(e.kind, EventKind::OrderPaid);
    assert_eq!(e.amount, Some(1129));
    assert_eq!(e.order_id.as_deref(), Some("o1"));
    assert_eq!(
        e.contact,
        ContactRef::Identity(IdentityKey {
            kind: IdentityKind::ExternalId,
            value: "00001".into()
        })
    );
}

#[test]
fn negative_and_overflowing_amounts_name_the_field() {
    assert_eq!(
        ValidEvent::parse(&paid(json!(-1)), &ctx())
            .unwrap_err()
            .field,
        "data.total"
    );
    assert_eq!(
        ValidEvent::parse(&paid(json!(1e30)), &ctx())
            .unwrap_err()
            .field,
        "data.total"
    );
    assert_eq!(
        ValidEvent::parse(&paid(json!(18446744073709551615u64)), &ctx())
            .unwrap_err()
            .field,
        "data.total"
    );
    assert_eq!(
        ValidEvent::parse(&paid(json!("12")), &ctx())
            .unwrap_err()
            .field,
        "data.total"
    );
}

#[test]
fn unknown_and_foreign_currencies_are_rejected() {
    let mut v = paid(json!(100));
    v["data"]["currency"] = json!("ABC");
    let e = ValidEvent::parse(&v, &ctx()).unwrap_err();
    assert_eq!(e.field, "data.currency");
    assert!(e.reason.contains("ISO 4217"));
    v["data"]["currency"] = json!("VND");
    assert!(
        ValidEvent::parse(&v, &ctx())
            .unwrap_err()
            .reason
            .contains("base currency")
    );
}

#[test]
fn unknown_kinds_and_bad_times_are_rejected() {
    let mut v = paid(json!(100));
    v["kind"] = json!("order.teleported");
    assert_eq!(ValidEvent::parse(&v, &ctx()).unwrap_err().field, "kind");
    let mut v = paid(json!(100));
    v["occurred_at"] = json!("1997-02-30T00:00:00Z");
    assert_eq!(
        ValidEvent::parse(&v, &ctx()).unwrap_err().field,
        "occurred_at"
    );
}

#[test]
fn bad_lines_name_their_index() {
    let mut v = paid(json!(100));
    v["data"]["lines"][0]["quantity"] = json!(0);
    assert_eq!(
        ValidEvent::parse(&v, &ctx()).unwrap_err().field,
        "data.lines[0].quantity"
    );
}

#[test]
fn interactions_need_a_known_type() {
    let v = json!({"id": "i1", "kind": "interaction", "occurred_at": "2026-01-01T00:00:00Z",
                   "contact": {"email": "lan@example.vn"}, "data": {"type": "demo_request", "page": "/pricing"}});
    assert_eq!(
        ValidEvent::parse(&v, &ctx()).unwrap().detail.as_deref(),
        Some("demo_request")
    );
    let mut bad = v.clone();
    bad["data"]["type"] = json!("telepathy");
    assert_eq!(
        ValidEvent::parse(&bad, &ctx()).unwrap_err().field,
        "data.type"
    );
}

#[test]
fn refunds_may_be_partial_or_full() {
    let full = json!({"id": "r", "kind": "order.refunded", "occurred_at": "2026-01-01T00:00:00Z",
                      "contact": {"external_id": "1"}, "data": {"order_id": "o1"}});
    assert_eq!(ValidEvent::parse(&full, &ctx()).unwrap().amount, None);
    let mut part = full.clone();
    part["data"]["amount"] = json!(500);
    assert_eq!(
        ValidEvent::parse(&part, &ctx()).unwrap_err().field,
        "data.currency"
    );
    part["data"]["currency"] = json!("USD");
    assert_eq!(ValidEvent::parse(&part, &ctx()).unwrap().amount, Some(500));
}

#[test]
fn fingerprint_ignores_key_order_but_not_values() {
    let a: Value = serde_json::from_str(r#"{"a":1,"b":{"x":[1,2],"y":"z"}}"#).unwrap();
    let b: Value = serde_json::from_str(r#"{"b":{"y":"z","x":[1,2]},"a":1}"#).unwrap();
    let c: Value = serde_json::from_str(r#"{"b":{"y":"z","x":[2,1]},"a":1}"#).unwrap();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&c));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z_.:0-9@+ -]{0,12}".prop_map(Value::from),
            prop_oneof![
                Just("order.paid"),
                Just("order.refunded"),
                Just("interaction"),
                Just("USD"),
                Just("2026-01-01T00:00:00Z")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id"),
                        Just("kind"),
                        Just("occurred_at"),
                        Just("contact"),
                        Just("data"),
                        Just("order_id"),
                        Just("total"),
                        Just("currency"),
                        Just("lines"),
                        Just("external_id"),
                        Just("email"),
                        Just("type"),
                        Just("amount")
                    ]
                    .prop_map(String::from),
                    inner,
                    0..6,
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Arbitrary JSON is either a valid event or an error naming a field; never a panic.
        #[test]
        fn arbitrary_json_never_panics(v in json()) {
            if let Err(e) = ValidEvent::parse(&v, &ctx()) {
                prop_assert!(!e.reason.is_empty());
            }
        }
    }
}

fn survey(data: Value) -> Value {
    json!({"id": "s1", "kind": "survey.answered", "occurred_at": "2026-01-01T00:00:00Z",
           "contact": {"external_id": "c1"}, "data": data})
}

#[test]
fn an_nps_answer_carries_its_score() {
    let e = ValidEvent::parse(&survey(json!({"survey": "nps", "score": 9})), &ctx()).unwrap();
    assert_eq!(
        (e.kind, e.detail.as_deref(), e.amount),
        (EventKind::SurveyAnswered, Some("nps"), Some(9))
    );
    for (data, field) in [
        (json!({"survey": "nps", "score": 11}), "data.score"),
        (json!({"survey": "nps", "score": -1}), "data.score"),
        (json!({"survey": "csat", "score": 3}), "data.survey"),
        (json!({"survey": "nps"}), "data"),
        (json!({"survey": "nps", "score": 9, "mood": "ok"}), "data"),
    ] {
        let e = ValidEvent::parse(&survey(data.clone()), &ctx()).unwrap_err();
        assert!(e.field.starts_with(field), "{data}: {e:?}");
    }
}

#[test]
fn a_converted_referral_names_its_referee() {
    let v = json!({"id": "r1", "kind": "referral.converted", "occurred_at": "2026-01-01T00:00:00Z",
                   "contact": {"external_id": "c1"}, "data": {"referee": {"email": "Lan@Example.vn"}}});
    let e = ValidEvent::parse(&v, &ctx()).unwrap();
    assert_eq!(
        e.recipient,
        Some(ContactRef::Identity(IdentityKey {
            kind: IdentityKind::Email,
            value: "lan@example.vn".into()
        }))
    );
    let bad = json!({"id": "r1", "kind": "referral.converted", "occurred_at": "2026-01-01T00:00:00Z",
                     "contact": {"external_id": "c1"}, "data": {"referee": {"email": "nope"}}});
    let e = ValidEvent::parse(&bad, &ctx()).unwrap_err();
    assert!(e.field.starts_with("data.referee"), "{e:?}");
}
