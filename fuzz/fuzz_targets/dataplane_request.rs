//! Key Vault data-plane requests through the host router (`http::route`, as the proxy hands it
//! a request for `kv1.vault.azure.net`): secrets, keys, certificates and deleted objects, with
//! method, path, query string (`api-version`, `maxresults`, ...), headers and body from the input
//! (`vaultlink_fuzz::Input`); `$TOKEN` is a valid vault token. A header `x-fuzz-via: endpoint`
//! (removed before the request is made) sends it through the world's private endpoint instead of
//! the internet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultlink::fuzzing::Via;

fuzz_target!(|data: &[u8]| {
    let w = vaultlink_fuzz::http_world();
    let Some(mut input) = vaultlink_fuzz::Input::parse(data, &w.vault_token) else { return };
    let before = input.headers.len();
    input.headers.retain(|(n, v)| !(n.eq_ignore_ascii_case(b"x-fuzz-via") && v == b"endpoint"));
    let via = if input.headers.len() < before {
        Via::Proxy(Some(vaultlink_fuzz::through_endpoint(w)))
    } else {
        Via::Proxy(None)
    };
    let Some(req) = input.request("kv1.vault.azure.net") else { return };
    let resp = w.harness.handle(via, req);
    vaultlink_fuzz::check(&resp);
    w.harness.restore();
});
