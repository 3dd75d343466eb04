//! Reads `test-vectors/*.toml`: `[section]` headers and `key = "value"` lines, `#` comments.
//! A tiny reader rather than a TOML dependency: the vector files use only this subset.
#![allow(dead_code)]

use std::collections::HashMap;

/// `section.key` -> value, as written in the file.
pub struct Vectors(HashMap<String, String>);

impl Vectors {
    /// Loads `test-vectors/NAME` from the crate root.
    pub fn load(name: &str) -> Self {
        Self::load_path(&format!(
            "{}/test-vectors/{}",
            env!("CARGO_MANIFEST_DIR"),
            name
        ))
    }

    /// Loads a vector file from any path.
    pub fn load_path(path: &str) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut map = HashMap::new();
        let mut section = String::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_string();
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{path}:{}: not key = value", n + 1));
            let v = v.trim().trim_matches('"').to_string();
            map.insert(format!("{section}.{}", k.trim()), v);
        }
        Self(map)
    }

    /// The MS-NLMP §4.2 set.
    pub fn nlmp() -> Self {
        Self::load("ms-nlmp-4.2.toml")
    }

    /// A string value, e.g. `get("inputs.user")`.
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).unwrap_or_else(|| panic!("no vector {key}"))
    }

    /// A string value, or `None` when the key is absent.
    pub fn try_get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A hex value as bytes.
    pub fn hex(&self, key: &str) -> Vec<u8> {
        hex(self.get(key))
    }

    /// A hex value of exactly N bytes.
    pub fn arr<const N: usize>(&self, key: &str) -> [u8; N] {
        self.hex(key)
            .try_into()
            .unwrap_or_else(|v: Vec<u8>| panic!("{key}: {} bytes, want {N}", v.len()))
    }

    /// Every key, for tests that check all values were used.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Lowercase/uppercase hex to bytes.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s}")))
        .collect()
}

pub mod handshake;
