//! A small argument parser: `--name VALUE`, `--name=VALUE`, boolean `--flag`s and
//! positional arguments; `--` ends the options.

use std::collections::HashMap;

/// Parsed arguments of one subcommand.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, String>,
    flags: Vec<&'static str>,
    /// Positional arguments, in order.
    pub positional: Vec<String>,
}

impl Parsed {
    /// The value of option `name` (without `--`).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of a required option.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.value(name)
            .ok_or_else(|| format!("missing required option --{name}"))
    }

    /// True when boolean option `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }
}

/// Parses `args` given the options that take a value and the boolean ones (names without
/// `--`). `-h` is `--help`. Unknown options and repeated options are errors.
pub fn parse(
    args: &[String],
    with_value: &[&'static str],
    booleans: &[&'static str],
) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut iter = args.iter();
    let mut options_done = false;
    while let Some(arg) = iter.next() {
        if options_done || !arg.starts_with('-') || arg == "-" {
            parsed.positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            options_done = true;
            continue;
        }
        let body = if arg == "-h" {
            "help"
        } else if let Some(body) = arg.strip_prefix("--") {
            body
        } else {
            return Err(format!("unknown option {arg:?}"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if let Some(&known) = with_value.iter().find(|n| **n == name) {
            let value = match inline {
                Some(v) => v.to_string(),
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("option --{name} needs a value"))?,
            };
            if parsed.values.insert(known, value).is_some() {
                return Err(format!("option --{name} given twice"));
            }
        } else if let Some(&known) = booleans.iter().chain(&["help"]).find(|n| **n == name) {
            if inline.is_some() {
                return Err(format!("option --{name} takes no value"));
            }
            if parsed.flags.contains(&known) {
                return Err(format!("option --{name} given twice"));
            }
            parsed.flags.push(known);
        } else {
            return Err(format!("unknown option {arg:?}"));
        }
    }
    Ok(parsed)
}

/// Takes every `--name VALUE` and `--name=VALUE` out of `args` (an option that may repeat,
/// like `--dc`): its values in order, and the other arguments for [`parse`].
pub fn take_repeated(args: &[String], name: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let (flag, prefix) = (format!("--{name}"), format!("--{name}="));
    let (mut values, mut rest) = (Vec::new(), Vec::new());
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        if a == "--" {
            rest.push(a.clone());
            rest.extend(iter.cloned());
            break;
        } else if *a == flag {
            let value = iter
                .next()
                .ok_or_else(|| format!("option --{name} needs a value"))?;
            values.push(value.clone());
        } else if let Some(v) = a.strip_prefix(&prefix) {
            values.push(v.to_string());
        } else {
            rest.push(a.clone());
        }
    }
    Ok((values, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_flags_and_positionals() {
        let p = parse(
            &strings(&["--level", "3", "--users=f", "--json", "tok", "--", "--x"]),
            &["level", "users"],
            &["json"],
        )
        .unwrap();
        assert_eq!(p.value("level"), Some("3"));
        assert_eq!(p.value("users"), Some("f"));
        assert!(p.flag("json") && !p.flag("help"));
        assert_eq!(p.positional, ["tok", "--x"]);
    }

    #[test]
    fn repeated() {
        let (dcs, rest) = take_repeated(
            &strings(&["--dc", "a", "--level", "3", "--dc=b:1", "--", "--dc", "c"]),
            "dc",
        )
        .unwrap();
        assert_eq!(dcs, ["a", "b:1"]);
        assert_eq!(rest, ["--level", "3", "--", "--dc", "c"]);
        assert!(take_repeated(&strings(&["--dc"]), "dc").is_err());
    }

    #[test]
    fn errors() {
        assert!(parse(&strings(&["--nope"]), &[], &[]).is_err());
        assert!(parse(&strings(&["--level"]), &["level"], &[]).is_err());
        assert!(parse(&strings(&["--level", "1", "--level", "2"]), &["level"], &[]).is_err());
        assert!(parse(&strings(&["--json=1"]), &[], &["json"]).is_err());
        assert!(parse(&strings(&["-x"]), &[], &[]).is_err());
        assert!(parse(&strings(&["-h"]), &[], &[]).unwrap().flag("help"));
    }
}
