//! The host names vaultlink plays, and which surface serves each: the one table the proxy (which
//! terminates TLS only for these) and the router (which hands each request to its surface) read.

/// A surface reached by its Azure host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    ResourceManager,
    EntraId,
    Graph,
    /// `{vault}.vault.azure.net`, with a non-empty vault name.
    KeyVault,
}

/// Azure's host names for each surface (lower case).
const HOSTS: &[(&str, Surface)] = &[
    ("management.azure.com", Surface::ResourceManager),
    ("login.microsoftonline.com", Surface::EntraId),
    ("login.windows.net", Surface::EntraId),
    ("sts.windows.net", Surface::EntraId),
    ("graph.microsoft.com", Surface::Graph),
];

/// The vault hosts' suffix.
pub(crate) const VAULT_SUFFIX: &str = ".vault.azure.net";

/// The surface a host name (without port, any case) belongs to, if vaultlink plays it.
pub(crate) fn surface(host: &str) -> Option<Surface> {
    let h = host.to_ascii_lowercase();
    if let Some((_, s)) = HOSTS.iter().find(|(name, _)| *name == h) {
        return Some(*s);
    }
    (h.len() > VAULT_SUFFIX.len() && h.ends_with(VAULT_SUFFIX)).then_some(Surface::KeyVault)
}

/// Whether a request that reached a local listener directly (the direct HTTPS listener with the
/// portal, or the identity endpoint) names a host it answers to: an IP address, `localhost`, an
/// Azure name vaultlink plays (a hosts-file setup), or one of `allowed` (`--allowed-host`).
/// Anything else is what DNS rebinding looks like: a page whose own name now resolves to this
/// machine, which its browser then treats as the page's origin.
pub(crate) fn local_host_allowed(host: &str, allowed: &[String]) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<std::net::IpAddr>().is_ok()
        || bare.eq_ignore_ascii_case("localhost")
        || surface(bare).is_some()
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(bare))
}

#[cfg(test)]
mod tests {
    use super::{Surface, local_host_allowed, surface};

    #[test]
    fn the_local_ca_may_certify_every_played_host_and_no_other() {
        for (name, _) in super::HOSTS {
            assert!(vaultlink_crypto::ca_permits(name), "{name}");
        }
        assert!(vaultlink_crypto::ca_permits(&format!("myvault{}", super::VAULT_SUFFIX)));
        assert!(vaultlink_crypto::ca_permits("localhost"));
        for other in ["www.google.com", "azure.com", "evilvault.azure.net", "login.microsoftonline.com.evil.example"] {
            assert!(!vaultlink_crypto::ca_permits(other), "{other}");
        }
    }

    #[test]
    fn local_listeners_answer_to_addresses_localhost_azure_names_and_allowed_names_only() {
        let none: &[String] = &[];
        for ok in ["127.0.0.1", "10.1.2.3", "[::1]", "::1", "localhost", "LocalHost", "management.azure.com"] {
            assert!(local_host_allowed(ok, none), "{ok}");
        }
        for refused in ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "", "[evil]"] {
            assert!(!local_host_allowed(refused, none), "{refused}");
        }
        assert!(local_host_allowed("vaultlink.internal", &["vaultlink.internal".to_string()]));
    }

    #[test]
    fn the_table_names_each_played_host_and_nothing_else() {
        assert_eq!(surface("management.azure.com"), Some(Surface::ResourceManager));
        assert_eq!(surface("Login.MicrosoftOnline.com"), Some(Surface::EntraId));
        assert_eq!(surface("sts.windows.net"), Some(Surface::EntraId));
        assert_eq!(surface("graph.microsoft.com"), Some(Surface::Graph));
        assert_eq!(surface("myvault.vault.azure.net"), Some(Surface::KeyVault));
        assert_eq!(surface(".vault.azure.net"), None);
        assert_eq!(surface("azcliprod.blob.core.windows.net"), None);
        assert_eq!(surface("evil.vault.azure.net.example.com"), None);
    }
}
