//! The network decision for a data-plane request: one pure function of (vault, caller's network
//! context) that either lets the request in or gives Azure's exact 403 (azure-behaviour.md §2.2).

use std::net::Ipv4Addr;

use crate::identity::Caller;
use crate::keyvault;
use crate::model::Vault;
use crate::privatelink::connections::status;

/// Where a data-plane request comes from and which path it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkContext {
    /// The caller's address as the vault sees it: its public address on the public path, its
    /// private address through a private endpoint.
    pub client_address: Ipv4Addr,
    /// The caller's subnet, when it comes from a subnet with the `Microsoft.KeyVault` service
    /// endpoint (so `virtualNetworkRules` apply).
    pub service_endpoint_subnet: Option<String>,
    /// The private endpoint the request came through, if any.
    pub private_endpoint: Option<String>,
    /// The caller is a trusted Microsoft service.
    pub trusted_service: bool,
}

impl NetworkContext {
    /// A caller on the internet with this public address.
    pub fn internet(address: Ipv4Addr) -> Self {
        Self { client_address: address, service_endpoint_subnet: None, private_endpoint: None, trusted_service: false }
    }
}

/// Which path let the request in (for logs and `x-ms-keyvault-network-info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    PrivateEndpoint,
    TrustedService,
    PublicNetwork { rule: String },
}

/// A refusal: inner code (`ForbiddenByFirewall` / `ForbiddenByConnection`) and Azure's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub inner_code: &'static str,
    pub message: String,
    /// Why, in words, for vaultlink's log and the doctor.
    pub reason: String,
}

/// `appid=..;oid=..;iss=https://sts.windows.net/{tid}/`, as Key Vault names callers.
pub fn caller_string(c: &Caller) -> String {
    format!("appid={};oid={};iss=https://sts.windows.net/{}/", c.app_id, c.object_id, c.tenant_id)
}

/// Decides whether the network lets this request reach the vault.
pub fn decide(state: &crate::State, vault: &Vault, ctx: &NetworkContext, caller: &Caller) -> Result<Path, Denied> {
    // The refusal's last lines, made only when refusing.
    let who = || format!("Caller: {}\r\nVault: {};location={}", caller_string(caller), vault.name, vault.location);
    // 1. An approved private endpoint connection carries traffic whatever the firewall says;
    //    any other state carries none.
    if let Some(pe) = &ctx.private_endpoint {
        let conn = keyvault::connections(state, &vault.id)
            .into_iter()
            .find(|c| c.private_endpoint_id.eq_ignore_ascii_case(pe));
        return match conn {
            Some(c) if c.status == status::APPROVED => Ok(Path::PrivateEndpoint),
            other => Err(Denied {
                inner_code: "ForbiddenByConnection",
                message: format!(
                    "Connection is not an approved private link and caller was ignored because bypass is not set to 'AzureServices' and PublicNetworkAccess is set to 'Disabled'.\r\n{}",
                    who()
                ),
                reason: match other {
                    Some(c) => format!("private endpoint {pe} connection is {}", c.status),
                    None => format!("private endpoint {pe} has no connection to the vault (Disconnected)"),
                },
            }),
        };
    }
    let bypass = vault.network_acls.bypass.eq_ignore_ascii_case("AzureServices");
    // 2. Trusted services pass with bypass=AzureServices, even with public access disabled.
    if ctx.trusted_service && bypass {
        return Ok(Path::TrustedService);
    }
    // 3. Public network access disabled: every other public request is refused.
    if vault.public_network_access.eq_ignore_ascii_case("Disabled") {
        let message = if bypass {
            format!(
                "Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\n{}",
                who()
            )
        } else {
            format!(
                "Connection is not an approved private link and caller was ignored because bypass is not set to 'AzureServices' and PublicNetworkAccess is set to 'Disabled'.\r\n{}",
                who()
            )
        };
        return Err(Denied {
            inner_code: "ForbiddenByConnection",
            message,
            reason: "publicNetworkAccess is Disabled and the request did not come through an approved private endpoint"
                .into(),
        });
    }
    // 4. IP rules, then virtual network rules, then the default action.
    for rule in &vault.network_acls.ip_rules {
        if rule.parse::<vaultlink_rules::Ipv4Cidr>().is_ok_and(|c| c.contains_addr(ctx.client_address)) {
            return Ok(Path::PublicNetwork { rule: format!("ipRule {rule}") });
        }
    }
    if let Some(subnet) = &ctx.service_endpoint_subnet
        && vault.network_acls.virtual_network_rules.iter().any(|r| r.id.eq_ignore_ascii_case(subnet))
    {
        return Ok(Path::PublicNetwork { rule: format!("virtualNetworkRule {subnet}") });
    }
    if vault.network_acls.default_action.eq_ignore_ascii_case("Allow") {
        return Ok(Path::PublicNetwork { rule: "defaultAction Allow".into() });
    }
    let client = match &ctx.service_endpoint_subnet {
        Some(_) => format!("Client address: {} from unknown subnet", ctx.client_address),
        None => format!("Client address: {}", ctx.client_address),
    };
    let message = if bypass {
        format!("Client address is not authorized and caller is not a trusted service.\r\n{client}\r\n{}", who())
    } else {
        format!(
            "Request was not allowed by NSP rules and the client address is not authorized and caller was ignored because bypass is set to None\r\n{client}\r\n{}",
            who()
        )
    };
    Err(Denied {
        inner_code: "ForbiddenByFirewall",
        message,
        reason: format!("defaultAction is Deny and {} matches no ipRule or virtualNetworkRule", ctx.client_address),
    })
}
