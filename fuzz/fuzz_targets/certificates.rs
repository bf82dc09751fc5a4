//! The certificate parsers of `vaultlink_crypto::x509`, each on arbitrary bytes: the first byte
//! picks one (X.509 DER, a PEM bundle with keys encrypted or not, PKCS#12, an encrypted PKCS#8
//! key) and the password (`fixture-pw`, the fixtures', or empty); the rest is the content. What
//! a bundle yields must parse again as a certificate import parses it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultlink_crypto::x509;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let password = if pick & 0x80 == 0 { "fixture-pw" } else { "" };
    let bundle = match pick & 0x03 {
        0 => {
            let _ = x509::parse(content);
            return;
        }
        1 => x509::from_pem(&String::from_utf8_lossy(content), password),
        2 => x509::from_pkcs12(content, password),
        _ => {
            let _ = x509::decrypt_pkcs8(content, password);
            return;
        }
    };
    if let Ok(b) = bundle {
        for der in &b.chain {
            let _ = x509::parse(der);
        }
        let pem = x509::to_pem(&b);
        if !b.chain.is_empty() {
            let again = x509::from_pem(&pem, "").expect("to_pem's output reads back");
            assert_eq!(again.chain, b.chain);
            assert_eq!(again.key, b.key);
        }
    }
});
