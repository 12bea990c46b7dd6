//! Property tests of the file parsers: arbitrary bytes never panic, every line is either an
//! event or a reject, and well-formed CDNOW lines always parse.

use clientele_core::WorkspaceId;
use clientele_engine::import::{Format, parse};
use clientele_store::Workspace;
use proptest::prelude::*;

fn ws() -> Workspace {
    Workspace {
        id: WorkspaceId(1),
        name: "p".into(),
        currency: "USD".into(),
        time_zone: "UTC".into(),
        phone_region: "US".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic_either_parser(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes, Format::Cdnow, &ws());
        let _ = parse(&bytes, Format::Shopify, &ws());
    }

    #[test]
    fn well_formed_cdnow_lines_all_become_events(
        rows in prop::collection::vec((1u32..99_999, 0u32..3650, 1i64..20, 0i64..100_000), 1..40)
    ) {
        let mut text = String::from("customer_id date cds dollars\n");
        for (customer, day, cds, cents) in &rows {
            let date = jiff::civil::date(1997, 1, 1).checked_add(jiff::Span::new().days(i64::from(*day))).unwrap();
            text.push_str(&format!(" {customer:05} {} {cds} {}.{:02}\r\n", date.strftime("%Y%m%d"), cents / 100, cents % 100));
        }
        let parsed = parse(text.as_bytes(), Format::Cdnow, &ws());
        prop_assert!(parsed.rejects.is_empty(), "{:?}", parsed.rejects);
        prop_assert_eq!(parsed.events.len(), rows.len());
        for ((line, _, event), (_, _, _, cents)) in parsed.events.iter().zip(&rows) {
            let v: serde_json::Value = serde_json::from_str(event).unwrap();
            prop_assert_eq!(v["data"]["total"].as_i64(), Some(*cents));
            prop_assert_eq!(v["id"].as_str().unwrap(), format!("cdnow:{line}"));
        }
    }

    #[test]
    fn every_cdnow_line_is_an_event_or_a_reject(lines in prop::collection::vec("[0-9 .x-]{0,30}", 1..30)) {
        let text = lines.join("\n");
        let parsed = parse(text.as_bytes(), Format::Cdnow, &ws());
        let nonblank = lines.iter().enumerate().filter(|(i, l)| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // The first line is a header when its first column is not a number.
            !cols.is_empty() && (*i != 0 || cols[0].bytes().all(|b| b.is_ascii_digit()))
        }).count();
        prop_assert_eq!(parsed.events.len() + parsed.rejects.len(), nonblank);
    }
}
