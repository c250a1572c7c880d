//! A redacting wrapper for credentials.

use std::fmt;

/// A credential (API token, password, API key) that never prints itself.
///
/// `Debug` and `Display` both print `***`; the value is only reachable through
/// [`Secret::expose`], which the HTTP client calls when it builds the
/// `Authorization` header (marked sensitive, so reqwest hides it too).
///
/// ```
/// use dora_http::Secret;
/// let token = Secret::new("s3cr3t");
/// assert_eq!(format!("{token:?} {token}"), "*** ***");
/// assert_eq!(token.expose(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value. Call only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Is the value empty (after trimming whitespace)?
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Replace every occurrence of any secret in `text` with `***`.
///
/// Used on anything a server sends back (error bodies can echo a request) so
/// that a credential never reaches an error message or a log line.
pub(crate) fn redact(text: &str, secrets: &[Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        // Very short values would redact ordinary words; real tokens are long.
        if secret.0.len() >= 4 && out.contains(&secret.0) {
            out = out.replace(&secret.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("tok-123456");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "tok-123456");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let secrets = [Secret::new("tok-123456")];
        assert_eq!(
            redact("bad token tok-123456 (tok-123456)", &secrets),
            "bad token *** (***)"
        );
        assert_eq!(redact("nothing here", &secrets), "nothing here");
    }
}
