//! Secrets are wiped with `zeroize`, whose writes the optimiser may not drop; a plain loop
//! or `fill(0)` on a buffer that is never read again may be removed as a dead store. This
//! scans the sources that hold key material for the plain forms.

const FILES: &[&str] = &[
    "client.rs",
    "server.rs",
    "store.rs",
    "secret.rs",
    "crypto/keys.rs",
];

#[test]
fn key_material_is_wiped_with_zeroize() {
    for file in FILES {
        let path = format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let plain = code.contains("*b = 0") || code.contains(".fill(0)");
            assert!(!plain, "{path}:{}: plain wipe, use zeroize: {line}", n + 1);
        }
    }
}
