//! Parsing of HTTP authentication headers (RFC 9110 §11.6): challenges in
//! `WWW-Authenticate` / `Proxy-Authenticate`, credentials in `Authorization` /
//! `Proxy-Authorization`.
//!
//! A field value may hold several challenges separated by commas, a challenge may carry a
//! `token68` (NTLM and Negotiate do) or `name=value` parameters (Basic, Digest: quoted
//! strings may contain commas), and a response may carry several such fields. Scheme names
//! compare case-insensitively. Every value is bounded: past the limit (64 KiB by default)
//! a header is refused, not parsed.
//!
//! ```
//! use ntlm::http::header::parse_challenges;
//! let c = parse_challenges(&["Negotiate, NTLM", "Basic realm=\"a, b\", Digest realm=\"x\", qop=\"auth\""], 65536).unwrap();
//! let names: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
//! assert_eq!(names, ["Negotiate", "NTLM", "Basic", "Digest"]);
//! assert_eq!(c[3].params, [("realm".to_string(), "x".to_string()), ("qop".to_string(), "auth".to_string())]);
//! ```

use core::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// The default limit on one header value, and on all challenge values of a response together.
pub const DEFAULT_MAX_HEADER_LEN: usize = 64 * 1024;

/// Standard base64, padding optional on decode (some clients strip it), always written.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64 of a token, as sent in a header.
pub fn encode_token(token: &[u8]) -> String {
    B64.encode(token)
}

/// One authentication challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (compare with [`Challenge::is`]).
    pub scheme: String,
    /// The token68, when the challenge has one.
    pub token68: Option<String>,
    /// The `name=value` parameters (names lower-cased, quoted values unquoted).
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Whether the scheme is `name`, case-insensitively.
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The decoded token68, when there is one.
    pub fn token(&self) -> Option<Result<Vec<u8>, HeaderError>> {
        self.token68.as_deref().map(decode_token)
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            write!(f, " {t}")?;
        }
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{k}=\"{v}\"")?;
        }
        Ok(())
    }
}

/// A header that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// Longer than the limit.
    Oversized {
        /// Bytes received.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not visible ASCII (RFC 9110 allows obs-text, but no scheme uses it).
    NotAscii,
    /// The syntax is wrong; `reason` says where.
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// The token68 is not base64.
    BadBase64(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Oversized { len, limit } => {
                write!(
                    f,
                    "authentication header of {len} bytes exceeds the limit of {limit}"
                )
            }
            Self::NotAscii => f.write_str("authentication header is not ASCII"),
            Self::Malformed { reason } => write!(f, "malformed authentication header: {reason}"),
            Self::BadBase64(e) => write!(f, "authentication token is not base64: {e}"),
        }
    }
}

impl std::error::Error for HeaderError {}

fn malformed(reason: impl Into<String>) -> HeaderError {
    HeaderError::Malformed {
        reason: reason.into(),
    }
}

/// Decodes a token68 as base64.
pub fn decode_token(token68: &str) -> Result<Vec<u8>, HeaderError> {
    B64.decode(token68.trim())
        .map_err(|e| HeaderError::BadBase64(e.to_string()))
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~+/".contains(&c))
}

fn check_len(values: &[impl AsRef<[u8]>], limit: usize) -> Result<(), HeaderError> {
    let len: usize = values.iter().map(|v| v.as_ref().len()).sum();
    if len > limit {
        return Err(HeaderError::Oversized { len, limit });
    }
    Ok(())
}

fn as_ascii(value: &[u8]) -> Result<&str, HeaderError> {
    if value
        .iter()
        .any(|&c| !(c == b'\t' || (0x20..0x7f).contains(&c)))
    {
        return Err(HeaderError::NotAscii);
    }
    core::str::from_utf8(value).map_err(|_| HeaderError::NotAscii)
}

/// A challenge field value as text: visible ASCII, tabs and RFC 9110 obs-text (bytes 0x80 and
/// up, only meaningful inside quoted strings, e.g. `Basic realm="Zürich"`); other control
/// characters are refused.
fn field_text(value: &[u8]) -> Result<std::borrow::Cow<'_, str>, HeaderError> {
    if value
        .iter()
        .any(|&c| !(c == b'\t' || (0x20..0x7f).contains(&c) || c >= 0x80))
    {
        return Err(HeaderError::NotAscii);
    }
    Ok(String::from_utf8_lossy(value))
}

/// True when `element` is an auth-param (`name BWS "=" BWS value`) rather than a scheme.
fn is_param(element: &str) -> bool {
    let name_len = element.bytes().take_while(|b| is_tchar(*b)).count();
    let after = element
        .get(name_len..)
        .unwrap_or("")
        .trim_start_matches([' ', '\t']);
    name_len > 0 && after.starts_with('=')
}

/// Splits a field value at commas outside quoted strings.
fn split_elements(value: &str) -> Result<Vec<&str>, HeaderError> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return Err(malformed("unterminated quoted string"));
    }
    out.push(value[start..].trim());
    Ok(out)
}

fn parse_param(element: &str) -> Result<(String, String), HeaderError> {
    let (name, value) = element
        .split_once('=')
        .ok_or_else(|| malformed(format!("expected name=value, found {element:?}")))?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(malformed(format!("bad parameter name {name:?}")));
    }
    let value = value.trim();
    let value = if let Some(inner) = value.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or_else(|| malformed(format!("bad quoted value in {element:?}")))?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                out.extend(chars.next());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        value.to_string()
    };
    Ok((name.to_ascii_lowercase(), value))
}

/// Parses every challenge in the given `WWW-Authenticate` (or `Proxy-Authenticate`) field
/// values, in order. `limit` bounds the values' total length.
///
/// Lenient where RFC 9110 lets servers be odd: a challenge that does not parse (an unknown
/// scheme's strange parameters, a broken field value) is skipped rather than hiding the
/// others; the first error is returned only when no challenge parsed at all.
pub fn parse_challenges(
    values: &[impl AsRef<[u8]>],
    limit: usize,
) -> Result<Vec<Challenge>, HeaderError> {
    check_len(values, limit)?;
    let mut out: Vec<Challenge> = Vec::new();
    let mut first_error = None;
    for value in values {
        let parsed = field_text(value.as_ref()).and_then(|text| {
            let mut list = Vec::new();
            let mut errors = Vec::new();
            parse_field(&text, &mut list, &mut errors)?;
            Ok((list, errors))
        });
        match parsed {
            Ok((list, errors)) => {
                out.extend(list);
                if first_error.is_none() {
                    first_error = errors.into_iter().next();
                }
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if out.is_empty() => Err(e),
        _ => Ok(out),
    }
}

/// The challenges of one field value. A broken challenge is dropped (with its parameters) and
/// its error recorded; a broken value as a whole (an unterminated quote) is an error.
fn parse_field(
    value: &str,
    out: &mut Vec<Challenge>,
    errors: &mut Vec<HeaderError>,
) -> Result<(), HeaderError> {
    // False while the parameters that follow belong to a challenge that was dropped.
    let mut current_ok = false;
    // False until the first scheme name of this field value.
    let mut seen_scheme = false;
    for element in split_elements(value)? {
        if element.is_empty() {
            continue; // RFC 9110 §5.6.1: empty list elements are ignored
        }
        if is_param(element) {
            // A parameter of the preceding challenge ("Digest realm=x, qop = auth").
            if !current_ok {
                if !seen_scheme {
                    errors.push(malformed(format!(
                        "parameter {element:?} before any scheme"
                    )));
                }
                continue;
            }
            let Some(last) = out.last_mut() else { continue };
            match parse_param(element) {
                Ok(_) if last.token68.is_some() => {
                    errors.push(malformed(format!("parameter {element:?} after a token68")));
                    out.pop();
                    current_ok = false;
                }
                Ok(param) => last.params.push(param),
                Err(e) => {
                    errors.push(e);
                    out.pop();
                    current_ok = false;
                }
            }
            continue;
        }
        let (head, rest) = match element.find([' ', '\t']) {
            Some(i) => (&element[..i], element[i..].trim()),
            None => (element, ""),
        };
        seen_scheme = true;
        if head.is_empty() || !head.bytes().all(is_tchar) {
            errors.push(malformed(format!("bad scheme name {head:?}")));
            current_ok = false;
            continue;
        }
        let mut challenge = Challenge {
            scheme: head.to_string(),
            token68: None,
            params: Vec::new(),
        };
        if !rest.is_empty() {
            if is_token68(rest) {
                challenge.token68 = Some(rest.to_string());
            } else {
                match parse_param(rest) {
                    Ok(param) => challenge.params.push(param),
                    Err(e) => {
                        errors.push(e);
                        current_ok = false;
                        continue;
                    }
                }
            }
        }
        out.push(challenge);
        current_ok = true;
    }
    Ok(())
}

/// Credentials from one `Authorization` / `Proxy-Authorization` value: scheme and token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The scheme as sent.
    pub scheme: String,
    /// The decoded token68 (empty when the value had none).
    pub token: Vec<u8>,
}

/// Parses an `Authorization` value carrying a base64 token68 (`NTLM …`, `Negotiate …`).
pub fn parse_credentials(value: &[u8], limit: usize) -> Result<Credentials, HeaderError> {
    check_len(&[value], limit)?;
    let value = as_ascii(value)?.trim();
    let (scheme, rest) = match value.find([' ', '\t']) {
        Some(i) => (&value[..i], value[i..].trim()),
        None => (value, ""),
    };
    if scheme.is_empty() || !scheme.bytes().all(is_tchar) {
        return Err(malformed(format!("bad scheme name {scheme:?}")));
    }
    if !rest.is_empty() && !is_token68(rest) {
        return Err(malformed("credentials are not a token68"));
    }
    let token = if rest.is_empty() {
        Vec::new()
    } else {
        decode_token(rest)?
    };
    Ok(Credentials {
        scheme: scheme.to_string(),
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token68_and_params() {
        let c = parse_challenges(&["NTLM TlRMTVNTUAACAAAA==, Basic realm=\"x\""], 1000).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].token68.as_deref(), Some("TlRMTVNTUAACAAAA=="));
        assert!(c[1].is("basic"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse_challenges(&["x".repeat(10)], 5),
            Err(HeaderError::Oversized { len: 10, limit: 5 })
        ));
        assert!(parse_challenges(&["Basic realm=\"x"], 100).is_err());
        assert!(parse_challenges(&["realm=x"], 100).is_err());
        // A broken neighbour does not hide a usable challenge; obs-text is tolerated.
        let c = parse_challenges(&["Ne(go, NTLM"], 100).unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].is("ntlm"));
        let c = parse_challenges(&["Basic realm=\"Zürich\", NTLM"], 100).unwrap();
        assert_eq!(c[0].params[0].1, "Zürich");
        assert!(c[1].is("ntlm"));
        assert!(parse_challenges(&["Ne(go"], 100).is_err());
        assert!(parse_credentials(b"NTLM !!!", 100).is_err());
        assert!(parse_credentials("NTLM é".as_bytes(), 100).is_err());
    }
}
