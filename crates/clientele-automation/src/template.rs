//! Rendering a message from its template with minijinja: the subject, plain-text and HTML
//! parts see the same context (contact fields, rung, points, coupon, links). HTML output is
//! auto-escaped; undefined variables render as nothing rather than failing a send.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::document::Localised;

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// Whether `source` compiles; the reason when it does not.
pub fn check(source: &str) -> Result<(), String> {
    let env = environment();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Render all three parts with `context`.
pub fn render(t: &Localised, context: &impl Serialize) -> Result<Rendered, String> {
    let mut env = environment();
    for (name, source) in [
        ("subject.txt", &t.subject),
        ("text.txt", &t.text),
        ("body.html", &t.html),
    ] {
        env.add_template_owned(name.to_owned(), source.clone())
            .map_err(|e| e.to_string())?;
    }
    let context = minijinja::Value::from(minijinja::value::Serde(context));
    let part = |name: &str| -> Result<String, String> {
        env.get_template(name)
            .and_then(|t| t.render(&context))
            .map_err(|e| format!("{name}: {e}"))
    };
    Ok(Rendered {
        // A subject is one line whatever the template's data holds.
        subject: part("subject.txt")?
            .replace(['\r', '\n'], " ")
            .trim()
            .to_owned(),
        text: part("text.txt")?,
        html: part("body.html")?,
    })
}

/// Render one line of plain text (a task's title, a ticket's subject).
pub fn render_line(source: &str, context: &impl Serialize) -> Result<String, String> {
    let env = environment();
    let context = minijinja::Value::from(minijinja::value::Serde(context));
    env.render_str(source, context)
        .map(|s| s.replace(['\r', '\n'], " ").trim().to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(subject: &str, text: &str, html: &str) -> Localised {
        Localised {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    #[test]
    fn parts_render_and_html_is_escaped() {
        let ctx = json!({"contact": {"name": "Lan <b>"}, "coupon": {"code": "ABCD-EFGH"}});
        let r = render(
            &t(
                "Chào {{ contact.name }}\n!",
                "Mã: {{ coupon.code }}",
                "<p>{{ contact.name }}</p>",
            ),
            &ctx,
        )
        .unwrap();
        assert_eq!(r.subject, "Chào Lan <b> !");
        assert_eq!(r.text, "Mã: ABCD-EFGH");
        assert_eq!(r.html, "<p>Lan &lt;b&gt;</p>");
    }

    #[test]
    fn missing_values_render_empty_and_bad_syntax_is_refused() {
        let r = render(&t("{{ nope.deeper }}x", "", ""), &json!({})).unwrap();
        assert_eq!(r.subject, "x");
        assert!(check("{% if %}").is_err());
        let line = render_line(
            "Call {{ contact.name }}\nsoon",
            &json!({"contact": {"name": "An"}}),
        );
        assert_eq!(line.unwrap(), "Call An soon");
    }
}
