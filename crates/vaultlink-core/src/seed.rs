//! The seeded tenant, subscription and principals every fresh vaultlink starts with (written by
//! `bootstrap::seed`).
//!
//! These ids are documented in the README so that scripts can use them verbatim. They are
//! constants, not configuration: changing them would break every user's saved profile.

/// The seeded Entra tenant.
pub const TENANT_ID: &str = "8d3a7e52-6c1f-4b0e-9a57-2f4c8e1b6d90";
/// Display name of the seeded tenant.
pub const TENANT_NAME: &str = "vaultlink";
/// The seeded tenant's default domain (users' sign-in names end with it).
pub const TENANT_DOMAIN: &str = "vaultlink.onmicrosoft.com";
/// The seeded subscription.
pub const SUBSCRIPTION_ID: &str = "4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
/// Display name of the seeded subscription.
pub const SUBSCRIPTION_NAME: &str = "vaultlink-dev";
/// The seeded developer service principal (application id = client id).
pub const DEV_CLIENT_ID: &str = "a9b8c7d6-e5f4-4321-9abc-def012345678";
/// Object id of the developer service principal.
pub const DEV_OBJECT_ID: &str = "0f9e8d7c-6b5a-4948-8372-6150f4e3d2c1";
/// The developer principal's client secret (documented; this is an emulator).
pub const DEV_CLIENT_SECRET: &str = "vaultlink-dev-secret";
/// The seeded managed identity that the identity endpoint (IMDS) issues tokens for.
pub const MI_CLIENT_ID: &str = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
/// Object id of the managed identity.
pub const MI_OBJECT_ID: &str = "6e5d4c3b-2a19-4087-9f6e-5d4c3b2a1908";

/// The public address vaultlink gives a caller on the internet ("this machine") unless told
/// otherwise. From TEST-NET-3 (RFC 5737), so it can never be a real host.
pub const DEFAULT_PUBLIC_ADDRESS: &str = "203.0.113.10";
