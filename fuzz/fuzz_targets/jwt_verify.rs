//! Token verification (`TokenSigner::verify`) of arbitrary tokens, and of tokens properly signed
//! over arbitrary JSON claims (so that the claim checks after the signature are reached). The
//! first byte picks which.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vaultlink_crypto::TokenSigner;

fn signer() -> &'static TokenSigner {
    static SIGNER: OnceLock<TokenSigner> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vaultlink-fuzz-jwt-{}", std::process::id()));
        let s = TokenSigner::load_or_create(&dir).expect("token key");
        let _ = std::fs::remove_dir_all(&dir);
        s
    })
}

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let signer = signer();
    if pick & 1 == 0 {
        let _ = signer.verify(&String::from_utf8_lossy(rest), NOW);
        return;
    }
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(rest) else { return };
    let token = signer.sign(&claims);
    if let Ok(verified) = signer.verify(&token, NOW) {
        assert_eq!(Some(&*verified), claims.as_object(), "the claims signed are the claims verified");
    }
});
