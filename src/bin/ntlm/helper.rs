//! What the two helper protocols share: bounded line reading, `XX [base64]` requests, one
//! flushed reply line per request.

use std::io::{self, BufRead, Write};

use base64::Engine as _;

/// Longest request line accepted, in bytes. An NTLM token is at most about 10 KiB of
/// base64 (MS-NLMP §2.2.1.3 with the crate's field limits).
pub const MAX_LINE: usize = 64 * 1024;

/// One request line.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line without its `\n` (and a trailing `\r`).
    Text(Vec<u8>),
    /// The line exceeded [`MAX_LINE`]; it was read to its end and dropped.
    TooLong,
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at end of input. Memory stays
/// bounded whatever the input.
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

/// A request split into its two-letter command and its argument (possibly empty).
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

/// Decodes standard base64 (padding optional).
pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>, String> {
    ENGINE.decode(text).map_err(|e| format!("bad base64: {e}"))
}

/// Encodes standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::general_purpose::PAD_INDIFFERENT,
);

/// A printable rendering of request bytes for error replies: at most 16 characters,
/// control characters escaped, so a reply stays one line.
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

/// Replaces characters that would break a one-line reply (newlines, other controls).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Runs a line protocol: every request gets exactly one reply line, flushed at once. Ends
/// with `Ok` at end of input; an I/O error on stdin or stdout ends it with that error.
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

/// Runs [`serve`] on the process's stdin and stdout and turns the outcome into the exit
/// status: success at end of input, failure (with a message naming `command`) on an I/O error.
pub fn serve_stdio(command: &str, handle: impl FnMut(&[u8]) -> String) -> std::process::ExitCode {
    match serve(io::stdin().lock(), io::stdout().lock(), handle) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ntlm {command}: I/O error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
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
        assert!(base64_decode(b"!!").is_err());
        assert_eq!(base64_decode(b"TlRM").unwrap(), b"NTL");
        assert_eq!(show(b"a\nb"), "a\\nb");
    }

    #[test]
    fn serve_replies_once_per_line() {
        let mut out = Vec::new();
        serve(&b"a\nb\n"[..], &mut out, |l| format!("got {}", show(l))).unwrap();
        assert_eq!(out, b"got a\ngot b\n");
    }
}
