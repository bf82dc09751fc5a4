//! Resource Manager requests through the host router (`http::route`, as the proxy hands it a
//! request for management.azure.com): method, path, query string, headers and body from the
//! input (`vaultlink_fuzz::Input`), against the shared world; `$TOKEN` is a valid ARM token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultlink::fuzzing::Via;

fuzz_target!(|data: &[u8]| {
    let w = vaultlink_fuzz::http_world();
    let Some(input) = vaultlink_fuzz::Input::parse(data, &w.arm_token) else { return };
    let Some(req) = input.request("management.azure.com") else { return };
    let resp = w.harness.handle(Via::Proxy(None), req);
    vaultlink_fuzz::check(&resp);
    w.harness.restore();
});
