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

/// Standard base64 (RFC 4648 §4) with padding; `url_safe` uses `-` and `_`
/// (§5). Written here to avoid a dependency for a few lines.
pub(crate) fn base64(bytes: &[u8], url_safe: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let table = if url_safe { URL } else { STD };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every form in which a credential can come back from a server that echoes a
/// request: raw, base64 of `user:secret` / `:secret` / `secret:` / `secret`
/// (standard and URL-safe alphabets, with and without padding),
/// URL-encoded (`+` or `%20` for spaces, upper- or lower-case hex) and
/// JSON-escaped.
pub(crate) fn encoded_forms(secret: &str, user: Option<&str>) -> Vec<Secret> {
    let mut forms: Vec<String> = vec![secret.to_owned()];
    let mut plain: Vec<String> = vec![
        secret.to_owned(),
        format!(":{secret}"),
        format!("{secret}:"),
    ];
    if let Some(user) = user {
        plain.push(format!("{user}:{secret}"));
    }
    for p in &plain {
        for url_safe in [false, true] {
            let encoded = base64(p.as_bytes(), url_safe);
            forms.push(encoded.trim_end_matches('=').to_owned());
            forms.push(encoded);
        }
    }
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    for encoded in [form.replace('+', "%20"), form] {
        forms.push(lower_hex(&encoded));
        forms.push(encoded);
    }
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json.trim_matches('"').to_owned());
    }
    forms.sort();
    forms.dedup();
    // Longest first, so that a longer form is replaced before a shorter one
    // that it contains.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.into_iter().map(Secret::new).collect()
}

/// `%2F` → `%2f` in a percent-encoded string.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
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
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes(), false), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff], false), "+/8=");
        assert_eq!(base64(&[0xfb, 0xff], true), "-_8=");
        // What a Basic Authorization header carries.
        assert_eq!(
            base64(b"Aladdin:open sesame", false),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn encoded_forms_cover_base64_and_url_encoding() {
        let secret = r#"to/k+en "sec"#;
        let forms = encoded_forms(secret, Some("me@example.com"));
        let text = format!(
            "a {} b {} c {} d {} e {} f {} g {}",
            base64(format!("me@example.com:{secret}").as_bytes(), false),
            base64(format!(":{secret}").as_bytes(), false),
            "to%2Fk%2Ben+%22sec",
            "to%2fk%2ben%20%22sec",
            r#"to/k+en \"sec"#,
            base64(secret.as_bytes(), true).trim_end_matches('='),
            secret,
        );
        let out = redact(&text, &forms);
        assert_eq!(out, "a *** b *** c *** d *** e *** f *** g ***", "{out}");
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
