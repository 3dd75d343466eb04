//! The line layer of Squid's helper protocols: bounded line reading, `XX [base64]` requests
//! split into command and argument, base64 tokens, and the one-line texts of replies.
//!
//! [`read_line`] and [`serve`] work on any [`BufRead`] and [`Write`]: the caller picks
//! stdin/stdout, a pipe or a byte slice (the fuzz targets), and owns the loop's lifetime.

use std::error::Error;
use std::fmt;
use std::io::{self, BufRead, Write};

use base64::Engine as _;

/// Longest request line accepted, in bytes. An NTLM token is at most about 10 KiB of
/// base64 (MS-NLMP §2.2.1.3 with the crate's field limits).
pub const MAX_LINE: usize = 64 * 1024;

/// One request line as read by [`read_line`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Line {
    /// The line without its `\n` (and a trailing `\r`).
    Text(Vec<u8>),
    /// The line exceeded [`MAX_LINE`]; it was read to its end and dropped.
    TooLong,
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buf`; `None` at end of input. Memory
/// stays bounded whatever the input: the rest of an over-long line is read and dropped.
pub fn read_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let (chunk, used, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (available.get(..i).unwrap_or(&[]), i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            buf.extend_from_slice(chunk);
            if buf.len() > MAX_LINE {
                too_long = true;
                buf.clear();
                buf.shrink_to(MAX_LINE);
            }
        }
        input.consume(used);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Line::TooLong));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(Line::Text(std::mem::take(buf))))
}

/// Runs a line protocol: every request line gets exactly one reply line from `handle`,
/// written with its `\n` and flushed at once; an over-long line gets
/// `BH request longer than 65536 bytes`. Ends with `Ok` at end of input; an I/O error on
/// either side ends it with that error.
pub fn serve<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    mut handle: impl FnMut(&[u8]) -> String,
) -> io::Result<()> {
    let mut buf = Vec::new();
    while let Some(line) = read_line(&mut input, &mut buf)? {
        let reply = match line {
            Line::Text(text) => {
                let reply = handle(&text);
                buf = text;
                reply
            }
            Line::TooLong => format!("BH request longer than {MAX_LINE} bytes"),
        };
        output.write_all(reply.as_bytes())?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// A request split into its command (`YR`, `KK`, `TT`, ...) and its argument, possibly
/// empty; surrounding blanks are dropped.
pub fn split_request(line: &[u8]) -> (&[u8], &[u8]) {
    let line = line.trim_ascii();
    match line.iter().position(|b| *b == b' ') {
        Some(i) => (
            line.get(..i).unwrap_or(&[]),
            line.get(i + 1..).unwrap_or(&[]).trim_ascii(),
        ),
        None => (line, &[]),
    }
}

/// Decodes a token's standard base64 (padding optional).
pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    ENGINE.decode(text).map_err(|inner| Base64Error { inner })
}

/// Encodes a token as standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::general_purpose::PAD_INDIFFERENT,
);

/// A token argument that is not base64; `source()` is the decoder's own error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base64Error {
    inner: base64::DecodeError,
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad base64: {}", self.inner)
    }
}

impl Error for Base64Error {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.inner)
    }
}

/// A printable rendering of request bytes for error replies: at most 16 characters,
/// control characters escaped, so that a reply stays one line.
pub fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(16)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().count() > 16 {
        out.push_str("...");
    }
    out
}

/// `text` with every control character (newlines included) replaced by a space, so that
/// it cannot end a reply line early nor start another.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_stripped() {
        let mut long = vec![b'A'; MAX_LINE + 10];
        long.extend_from_slice(b"\nYR abc\r\nlast");
        let mut input = io::Cursor::new(long);
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut input, &mut buf).unwrap(),
            Some(Line::TooLong)
        );
        assert_eq!(
            read_line(&mut input, &mut buf).unwrap(),
            Some(Line::Text(b"YR abc".to_vec()))
        );
        assert_eq!(
            read_line(&mut input, &mut buf).unwrap(),
            Some(Line::Text(b"last".to_vec()))
        );
        assert_eq!(read_line(&mut input, &mut buf).unwrap(), None);
    }

    #[test]
    fn requests_split() {
        assert_eq!(split_request(b"YR"), (&b"YR"[..], &b""[..]));
        assert_eq!(split_request(b"KK  abc "), (&b"KK"[..], &b"abc"[..]));
        let err = base64_decode(b"!!").unwrap_err();
        assert!(err.to_string().starts_with("bad base64: "), "{err}");
        assert!(err.source().is_some());
        assert_eq!(base64_decode(b"TlRM").unwrap(), b"NTL");
        assert_eq!(base64_decode(b"TlQ").unwrap(), b"NT");
        assert_eq!(show(b"a\nb"), "a\\nb");
        assert_eq!(show(&[b'x'; 20]), format!("{}...", "x".repeat(16)));
        assert_eq!(one_line("a\nb\rc"), "a b c");
    }

    #[test]
    fn serve_replies_once_per_line() {
        let mut out = Vec::new();
        serve(&b"a\nb\n"[..], &mut out, |l| format!("got {}", show(l))).unwrap();
        assert_eq!(out, b"got a\ngot b\n");
        let mut long = vec![b'A'; MAX_LINE + 1];
        long.push(b'\n');
        let mut out = Vec::new();
        serve(&long[..], &mut out, |_| "never".into()).unwrap();
        assert_eq!(out, b"BH request longer than 65536 bytes\n");
    }
}
