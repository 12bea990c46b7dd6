//! E-mail addresses: validated syntax, normalised for identity matching.

use std::str::FromStr;

/// A syntactically valid e-mail address, trimmed and lower-cased so that identity
/// resolution matches `Lan@Example.com` and `lan@example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validate and normalise.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err("is empty".into());
        }
        let opts = email_address::Options::default().without_display_text();
        email_address::EmailAddress::parse_with_options(&normalised, opts)
            .map_err(|e| format!("{raw:?} is not an e-mail address ({e})"))?;
        if !normalised.contains('.') || normalised.ends_with('.') {
            // `a@localhost` is valid RFC 5322 but never a customer's address.
            return Err(format!("{raw:?} has no domain with a dot"));
        }
        Ok(Self(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox that receives the mail: `+` sub-addresses removed, and for providers
    /// that ignore dots (Gmail) the dots too. Two addresses with the same mailbox belong to
    /// one person — what referral abuse checks compare; identity matching does not, since
    /// shops do see them as different logins.
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let local = local.split('+').next().unwrap_or(local);
        match domain {
            "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
            _ => format!("{local}@{domain}"),
        }
    }
}

impl FromStr for Email {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_cased_and_trimmed() {
        assert_eq!(
            Email::parse("  Lan.Nguyen@Example.VN ").unwrap().as_str(),
            "lan.nguyen@example.vn"
        );
    }

    #[test]
    fn mailboxes_ignore_sub_addresses_and_gmail_dots() {
        let mailbox = |s: &str| Email::parse(s).unwrap().mailbox();
        assert_eq!(
            mailbox("Lan.Nguyen+shop@GoogleMail.com"),
            "lannguyen@gmail.com"
        );
        assert_eq!(mailbox("l.a.n.nguyen@gmail.com"), "lannguyen@gmail.com");
        assert_eq!(mailbox("lan+x@example.vn"), "lan@example.vn");
        // Dots matter elsewhere.
        assert_ne!(
            mailbox("lan.nguyen@example.vn"),
            mailbox("lannguyen@example.vn")
        );
    }

    #[test]
    fn invalid_addresses_are_rejected() {
        for bad in [
            "",
            "lan",
            "lan@",
            "@example.com",
            "lan@@example.com",
            "lan@localhost",
            "Lan <lan@example.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
