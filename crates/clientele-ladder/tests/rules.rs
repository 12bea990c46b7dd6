//! Rule sets: the shipped default parses and round-trips; bad ones are refused with the path
//! and the reason.

use clientele_ladder::{Demotion, RuleSet, Rung};
use serde_json::{Value, json};

fn default_json() -> Value {
    RuleSet::default_rules().to_json()
}

#[test]
fn the_default_rules_have_seven_rungs_top_first_and_round_trip_through_json() {
    let rules = RuleSet::default_rules();
    let order: Vec<Rung> = rules.rungs.iter().map(|(r, _)| *r).collect();
    let mut bottom_up = Rung::ALL.to_vec();
    bottom_up.reverse();
    assert_eq!(order, bottom_up);
    assert_eq!(rules.demotion, Demotion::Grace { days: 30 });
    assert_eq!(RuleSet::from_json(&rules.to_json()).unwrap(), rules);
}

fn refused(doc: Value) -> (String, String) {
    let e = RuleSet::from_json(&doc).unwrap_err();
    (e.path, e.reason)
}

#[test]
fn bad_rule_sets_name_the_path_and_the_reason() {
    let mut doc = default_json();
    doc["rungs"][3]["when"] = json!({"metric": "orders_total", "op": ">=", "value": 2});
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs[3].when.metric");
    assert!(
        reason.contains("unknown metric \"orders_total\""),
        "{reason}"
    );

    let mut doc = default_json();
    doc["rungs"][3]["when"] = json!({"metric": "paid_orders", "op": "=>", "value": 2});
    assert_eq!(refused(doc).0, "rungs[3].when.op");

    let mut doc = default_json();
    doc["rungs"][0]["when"] = json!({"metric": "ambassador", "op": ">=", "value": true});
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs[0].when.op");
    assert!(reason.contains("flag"), "{reason}");

    let mut doc = default_json();
    doc["rungs"][3]["when"] = json!({"metric": "paid_orders", "op": ">=", "value": "two"});
    assert_eq!(refused(doc).0, "rungs[3].when.value");

    let mut doc = default_json();
    doc["rungs"].as_array_mut().unwrap().remove(2);
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs[2].rung");
    assert!(
        reason.contains("expected client here, found customer"),
        "{reason}"
    );

    let mut doc = default_json();
    doc["rungs"].as_array_mut().unwrap().swap(3, 4);
    assert_eq!(refused(doc).0, "rungs[3].rung");

    let mut doc = default_json();
    doc["rungs"].as_array_mut().unwrap().pop();
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs");
    assert!(reason.contains("suspect is missing"), "{reason}");
}

#[test]
fn unreachable_rungs_are_refused() {
    let mut doc = default_json();
    doc["rungs"][3]["when"] = json!({"all": [
        {"metric": "paid_orders", "op": ">=", "value": 5},
        {"metric": "paid_orders", "op": "<", "value": 2}]});
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs[3].when");
    assert!(reason.contains("customer is unreachable"), "{reason}");

    let mut doc = default_json();
    doc["rungs"][1]["when"] = json!("always");
    let (path, reason) = refused(doc);
    assert_eq!(path, "rungs[1].when");
    assert!(reason.contains("below advocate"), "{reason}");

    let mut doc = default_json();
    doc["rungs"][6]["when"] = json!({"metric": "paid_orders", "op": "==", "value": 0});
    assert_eq!(refused(doc).0, "rungs[6].when");
}

#[test]
fn demotion_policies_and_engagement_points_are_checked() {
    let mut doc = default_json();
    doc["demotion"] = json!({"policy": "grace", "days": 0});
    assert_eq!(refused(doc).0, "demotion.days");
    let mut doc = default_json();
    doc["demotion"] = json!({"policy": "sometimes"});
    assert_eq!(refused(doc).0, "demotion.policy");
    let mut doc = default_json();
    doc["engagement_points"] = json!({"tweet": 3});
    assert_eq!(refused(doc).0, "engagement_points.tweet");
    let mut doc = default_json();
    doc["demotion"] = json!({"policy": "never"});
    assert_eq!(RuleSet::from_json(&doc).unwrap().demotion, Demotion::Never);
}

#[test]
fn a_toml_syntax_error_says_where() {
    let e = RuleSet::from_toml("rungs = [ {").unwrap_err();
    assert!(e.path.starts_with("byte "), "{e}");
}
