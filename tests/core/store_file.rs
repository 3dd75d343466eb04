//! User files: an error about a hash names its position, never its digits (they are part
//! of a secret); a file is read whole into a buffer that is wiped (not observable here).

use ntlm::store::MemoryStore;

#[test]
fn a_bad_hash_error_has_no_hash_digits() {
    let nt = "a4f49c406510bdcab6824ee7c30fd8zz";
    let line = format!("bob:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:{nt}:[U]:LCT-0:");
    let err = MemoryStore::parse(&line, "users").unwrap_err();
    let text = err.to_string();
    assert_eq!(err.line, 1);
    assert!(text.contains("NT hash"), "{text}");
    assert!(text.contains("characters 31-32"), "{text}");
    for i in 0..nt.len() - 1 {
        let pair = &nt[i..i + 2];
        assert!(!text.contains(pair), "{text:?} shows {pair:?} of the hash");
    }
    // A sign is not a hex digit, even where `from_str_radix` would take it.
    let line = "bob:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:+4f49c406510bdcab6824ee7c30fd811:[U]:LCT-0:";
    let err = MemoryStore::parse(line, "users").unwrap_err();
    assert!(err.to_string().contains("characters 1-2"), "{err}");
}

#[test]
fn a_user_file_still_reads() {
    let dir = std::env::temp_dir().join(format!("ntlm-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users");
    std::fs::write(&path, "CORP:alice:Secret1\n# comment\n").unwrap();
    let store = MemoryStore::from_file(&path).unwrap();
    assert_eq!(store.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
