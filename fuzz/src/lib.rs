//! What the fuzz targets share: the world they start from (a vault with a private endpoint, a
//! VNet, linked private DNS zones; secrets, keys and certificates in the vault), vaultlink's
//! request handling over it (`vaultlink::fuzzing::Harness`), and the input format of the HTTP
//! targets: an HTTP/1.1 request head as text, a blank line, the body (`Input::parse`).

use std::sync::OnceLock;

use bytes::Bytes;
use serde_json::json;
use vaultlink::fuzzing::{Harness, Via, http};
use vaultlink_core::firewall::NetworkContext;
use vaultlink_core::privatedns::Preconditions;
use vaultlink_core::{Engine, identity, keyvault, network, privatedns, privatelink, seed};

const SUB: &str = seed::SUBSCRIPTION_ID;

/// A vault with an approved private endpoint, a VNet linked to its privatelink zone and to a
/// zone with large, aliased and wildcard records.
pub fn dns_world() -> &'static (Engine, String) {
    static WORLD: OnceLock<(Engine, String)> = OnceLock::new();
    WORLD.get_or_init(world)
}

/// The world every target starts from: a vault `kv1` in `rg` with an approved private endpoint
/// `pe1` in `vnet1/pe`, and the two linked zones. Returns the engine and the VNet's id.
pub fn world() -> (Engine, String) {
    {
        let e = vaultlink_core::testing::world_with_group("rg");
        let c = vaultlink_core::testing::developer();
        let p = Preconditions::default();
        let spec = serde_json::from_value(
            json!({"location": "westeurope", "properties": {"tenantId": seed::TENANT_ID, "sku": {"name": "standard"}}}),
        )
        .unwrap();
        let vault =
            e.write(|s, b| keyvault::put_vault(s, b, &c, (SUB, "rg", "kv1"), "2026-02-01", spec)).unwrap().vault;
        let body = json!({"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.1.2.0/24"}}]}});
        let vnet = e
            .write(|s, b| network::put_vnet(s, b, &c, (SUB, "rg", "vnet1"), vaultlink_core::testing::net(body)?))
            .unwrap()
            .0;
        let pe = json!({"location": "westeurope", "properties": {"subnet": {"id": format!("{}/subnets/pe", vnet.id)},
            "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": vault.id, "groupIds": ["vault"]}}]}});
        e.write(|s, b| privatelink::put_endpoint(s, b, &c, (SUB, "rg", "pe1"), vaultlink_core::testing::net(pe)?))
            .unwrap();
        for zone in ["privatelink.vaultcore.azure.net", "fuzz.internal"] {
            e.write(|s, b| {
                privatedns::put_zone(s, b, &c, (SUB, "rg", zone), vaultlink_core::testing::net(json!({}))?, p)
            })
            .unwrap();
            let link =
                json!({"properties": {"virtualNetwork": {"id": vnet.id}, "resolutionPolicy": "NxDomainRedirect"}});
            e.write(|s, b| {
                privatedns::put_link(s, b, &c, (SUB, "rg", zone, "l"), vaultlink_core::testing::net(link)?, p)
            })
            .unwrap();
        }
        let sets = [
            (
                "privatelink.vaultcore.azure.net",
                "A",
                "kv1",
                json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.2.4"}]}),
            ),
            (
                "fuzz.internal",
                "TXT",
                "big",
                json!({"txtRecords": (0..20).map(|i| json!({"value": [format!("{i}").repeat(300)]})).collect::<Vec<_>>()}),
            ),
            ("fuzz.internal", "CNAME", "alias", json!({"cnameRecord": {"cname": "kv1.vault.azure.net"}})),
            ("fuzz.internal", "CNAME", "loop", json!({"cnameRecord": {"cname": "loop.fuzz.internal"}})),
            ("fuzz.internal", "A", "*.wild", json!({"aRecords": [{"ipv4Address": "10.1.0.9"}]})),
            ("fuzz.internal", "MX", "@", json!({"mxRecords": [{"preference": 10, "exchange": "mail.fuzz.internal"}]})),
        ];
        for (zone, t, name, props) in sets {
            e.write(|s, b| {
                privatedns::put_record_set(
                    s,
                    b,
                    &c,
                    (SUB, "rg", zone, t, name),
                    vaultlink_core::testing::net(json!({"properties": props}))?,
                    p,
                    false,
                )
            })
            .unwrap();
        }
        (e, vnet.id)
    }
}

/// A token for the developer (Owner of the subscription, the vault's administrator) for
/// `audience`, valid for ten years (a long run must not see it expire).
fn developer_token(h: &Harness, audience: &str) -> String {
    let p = h.engine().read(|s| identity::principal(s, seed::DEV_CLIENT_ID)).expect("the developer");
    let mut claims = identity::access_token_claims(&p, audience, vaultlink_core::engine::now());
    claims["exp"] = json!(vaultlink_core::engine::now() + 10 * 365 * 86400);
    h.sign(&claims)
}

/// The shared world behind the HTTP targets, with tokens for Resource Manager and the vault.
pub struct World {
    pub harness: Harness,
    pub arm_token: String,
    pub vault_token: String,
    /// The private endpoint's id, for requests that arrive through it.
    pub endpoint_id: String,
}

/// The world of the HTTP targets: `world()`, and in `kv1` a secret `s1` (two versions), a
/// deleted secret `gone`, an RSA key `k1`, an EC key `e1`, a self-signed certificate `c1` and a
/// pending one `p1` (issuer Unknown, so that merge has something to merge). Checkpointed: every
/// input starts from this state.
pub fn http_world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let (engine, _vnet) = world();
        let endpoint_id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe1");
        let harness = Harness::new(engine);
        let arm_token = developer_token(&harness, identity::ARM_AUDIENCES[0]);
        let vault_token = developer_token(&harness, identity::VAULT_AUDIENCE);
        let w = World { harness, arm_token, vault_token, endpoint_id };
        let setup: &[(&str, &str, serde_json::Value)] = &[
            ("PUT", "/secrets/s1", json!({"value": "one", "contentType": "text/plain", "tags": {"a": "b"}})),
            ("PUT", "/secrets/s1", json!({"value": "two"})),
            ("PUT", "/secrets/gone", json!({"value": "x"})),
            ("DELETE", "/secrets/gone", json!(null)),
            ("POST", "/keys/k1/create", json!({"kty": "RSA", "key_size": 2048})),
            ("POST", "/keys/e1/create", json!({"kty": "EC", "crv": "P-256"})),
            ("POST", "/certificates/c1/create", json!({"policy": {"issuer": {"name": "Self"}, "x509_props": {"subject": "CN=c1", "sans": {"dns_names": ["c1.example"]}}, "key_props": {"kty": "EC", "crv": "P-256"}}})),
            ("POST", "/certificates/p1/create", json!({"policy": {"issuer": {"name": "Unknown"}, "x509_props": {"subject": "CN=p1"}, "key_props": {"kty": "RSA", "key_size": 2048}}})),
        ];
        for (method, path, body) in setup {
            let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
            let req = http::Request::builder()
                .method(*method)
                .uri(format!("{path}?api-version=7.5"))
                .header("host", "kv1.vault.azure.net")
                .header("authorization", format!("Bearer {}", w.vault_token))
                .header("content-type", "application/json")
                .body(body)
                .unwrap();
            let resp = w.harness.handle(Via::Proxy(None), req);
            assert!(resp.status().is_success(), "setup {method} {path}: {} {:?}", resp.status(), resp.body());
        }
        w.harness.checkpoint();
        w
    })
}

/// An HTTP target's input: `METHOD TARGET` on the first line, then `name: value` header lines,
/// a blank line and the body (all of the rest). `$TOKEN` in a header value stands for a valid
/// token of the developer for the surface the target drives, so that most inputs get past
/// authentication to the routes and the body parsers.
pub struct Input<'a> {
    pub method: &'a [u8],
    pub target: &'a str,
    pub headers: Vec<(&'a [u8], Vec<u8>)>,
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn parse(data: &'a [u8], token: &str) -> Option<Self> {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let mut lines = head.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = lines.next()?;
        let sp = first.iter().position(|b| *b == b' ')?;
        let (method, target) = (&first[..sp], std::str::from_utf8(&first[sp + 1..]).ok()?);
        let headers = lines
            .filter_map(|l| {
                let colon = l.iter().position(|b| *b == b':')?;
                let value = l[colon + 1..].trim_ascii();
                let value = match value.windows(6).position(|w| w == b"$TOKEN") {
                    Some(i) => [&value[..i], token.as_bytes(), &value[i + 6..]].concat(),
                    None => value.to_vec(),
                };
                Some((&l[..colon], value))
            })
            .collect();
        Some(Self { method, target, headers, body })
    }

    /// The request, with `host` unless the input names its own; None for what hyper would not
    /// have read off the wire (a method, target or header that is not valid HTTP).
    pub fn request(&self, host: &str) -> Option<http::Request<Bytes>> {
        let mut b = http::Request::builder().method(http::Method::from_bytes(self.method).ok()?).uri(self.target);
        if !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"host")) {
            b = b.header("host", host);
        }
        for (name, value) in &self.headers {
            b = b.header(http::HeaderName::from_bytes(name).ok()?, http::HeaderValue::from_bytes(value).ok()?);
        }
        b.body(Bytes::copy_from_slice(self.body)).ok()
    }
}

/// The checks every HTTP answer must pass: no 500 (an internal error is a bug, not an answer to
/// a bad request), and a JSON body wherever the answer says it is JSON.
pub fn check(resp: &http::Response<Bytes>) {
    assert_ne!(resp.status(), http::StatusCode::INTERNAL_SERVER_ERROR, "internal error: {:?}", resp.body());
    let json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json && !resp.body().is_empty() {
        serde_json::from_slice::<serde_json::Value>(resp.body()).expect("a JSON answer parses");
    }
}

/// A network context through the world's private endpoint (as the proxy decides it for a NIC
/// in `vnet1`).
pub fn through_endpoint(w: &World) -> NetworkContext {
    NetworkContext {
        client_address: std::net::Ipv4Addr::new(10, 1, 2, 5),
        service_endpoint_subnet: None,
        private_endpoint: Some(w.endpoint_id.to_ascii_lowercase()),
        trusted_service: false,
    }
}
