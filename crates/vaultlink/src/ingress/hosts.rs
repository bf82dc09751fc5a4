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

#[cfg(test)]
mod tests {
    use super::{Surface, surface};

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
