//! SMS through an HTTP provider speaking Twilio's form: `POST` of `To`, `From` and `Body`
//! (form-encoded) to the provider's messages URL, with the account and token as HTTP basic
//! authentication. The URL carries them (`https://ACCOUNT:TOKEN@api.twilio.com/2010-04-01/
//! Accounts/ACCOUNT/Messages.json`); they are never logged or shown.

use std::time::Duration;

/// The bound on one request.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A configured provider.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsProvider {
    url: url::Url,
    account: String,
    token: String,
    from: String,
}

impl std::fmt::Debug for SmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsProvider")
            .field("url", &self.url.as_str())
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmsProvider {
    /// `url`: the provider's messages URL with `ACCOUNT:TOKEN@`; `from`: the sender number
    /// or name.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|e| format!("--sms-url: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err("--sms-url: an https:// URL is expected".into());
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|e| format!("--sms-url: {e}"))
        };
        let account = decode(parsed.username())?;
        let token = decode(parsed.password().unwrap_or_default())?;
        if account.is_empty() || token.is_empty() {
            return Err("--sms-url: the account and token go in it as ACCOUNT:TOKEN@".into());
        }
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        if from.trim().is_empty() {
            return Err("--sms-from: the sender is needed".into());
        }
        Ok(Self {
            url: parsed,
            account,
            token,
            from: from.trim().to_owned(),
        })
    }

    /// Send `body` to `to` (E.164); an error says why the provider did not accept it.
    pub async fn send(&self, to: &str, body: &str) -> Result<(), String> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("To", to)
            .append_pair("From", &self.from)
            .append_pair("Body", body)
            .finish();
        let answer = client()
            .post(self.url.clone())
            .basic_auth(&self.account, Some(&self.token))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| format!("SMS provider: {}", e.without_url()))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        Err(format!("SMS provider answered {status}: {text}"))
    }
}

fn client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .expect("the HTTP client builds")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gives_the_credentials_and_keeps_them_out_of_sight() {
        let p = SmsProvider::new(
            "https://AC1:s%2Fcret@api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "+84900000000",
        )
        .unwrap();
        assert_eq!((p.account.as_str(), p.token.as_str()), ("AC1", "s/cret"));
        assert_eq!(
            p.url.as_str(),
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
        );
        assert!(!format!("{p:?}").contains("cret"));
        assert!(SmsProvider::new("https://api.twilio.com/x", "+1").is_err());
        assert!(SmsProvider::new("ftp://a:b@x/y", "+1").is_err());
        assert!(SmsProvider::new("https://a:b@x/y", " ").is_err());
    }
}
