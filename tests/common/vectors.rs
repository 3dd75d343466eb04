//! Reads the known-answer files of `test-vectors/` (TOML: `[section]` tables of string values)
//! for the integration tests, the benchmarks (`benches/common`) and the fuzz seed generator,
//! which include this one file, so there is one reader and one hex decoder.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// `section.key` -> value, as written in the file.
pub struct Vectors(BTreeMap<String, String>);

impl Vectors {
    /// Loads `test-vectors/NAME` from the crate root.
    pub fn load(name: &str) -> Self {
        Self::load_path(&format!("{}/test-vectors/{name}", crate_root()))
    }

    /// Loads a vector file from any path. Panics on a file that is not TOML, or on a value
    /// that is not a string or a table of strings: the files hold nothing else.
    pub fn load_path(path: &str) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut map = BTreeMap::new();
        for (section, values) in table {
            let values = values
                .as_table()
                .unwrap_or_else(|| panic!("{path}: {section} is not a [section]"));
            for (key, value) in values {
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{path}: {section}.{key} is not a string"));
                map.insert(format!("{section}.{key}"), value.to_string());
            }
        }
        Self(map)
    }

    /// The MS-NLMP §4.2 set.
    pub fn nlmp() -> Self {
        Self::load("ms-nlmp-4.2.toml")
    }

    /// A string value, e.g. `get("inputs.user")`.
    pub fn get(&self, key: &str) -> &str {
        self.try_get(key)
            .unwrap_or_else(|| panic!("no vector {key}"))
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

    /// Every key, `section.key`, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The section names, in order, each once.
    pub fn sections(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .keys()
            .filter_map(|k| Some(k.split_once('.')?.0))
            .collect();
        names.dedup();
        names
    }
}

/// The crate root (this file is also compiled from `fuzz/`, one level down).
fn crate_root() -> String {
    let here = env!("CARGO_MANIFEST_DIR");
    if std::path::Path::new(here).join("test-vectors").is_dir() {
        here.to_string()
    } else {
        format!("{here}/..")
    }
}

/// Lowercase or uppercase hex to bytes; panics on anything else.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .unwrap_or_else(|| panic!("bad hex {s}"))
        })
        .collect()
}
