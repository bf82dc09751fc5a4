//! Stored records: the durable shape of every object vaultlink keeps.
//!
//! Records are serialised with a schema version (`v`); a new shape gets a new version and the
//! loader keeps reading the old ones. These are *not* wire types: `wire` renders them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Resource tags.
pub type Tags = BTreeMap<String, String>;

/// Everything the state holds, keyed by the lower-cased resource id (see `ids`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Record {
    Tenant(Tenant),
    Application(Box<Application>),
    Principal(Box<Principal>),
    Subscription(Subscription),
    ResourceGroup(ResourceGroup),
    /// Shared, so that a request holds the vault it serves without copying it.
    Vault(std::sync::Arc<Vault>),
    DeletedVault(Box<DeletedVault>),
    PrivateEndpointConnection(Box<PrivateEndpointConnection>),
    VirtualNetwork(Box<VirtualNetwork>),
    Subnet(Box<Subnet>),
    NetworkInterface(Box<NetworkInterface>),
    PrivateEndpoint(Box<PrivateEndpoint>),
    PrivateDnsZoneGroup(PrivateDnsZoneGroup),
    PrivateDnsZone(PrivateDnsZone),
    VirtualNetworkLink(Box<VirtualNetworkLink>),
    RecordSet(Box<RecordSet>),
    RoleAssignment(Box<RoleAssignment>),
    RoleDefinition(Box<CustomRole>),
    Secret(SecretObject),
    VirtualNetworkPeering(VirtualNetworkPeering),
    Key(KeyObject),
    DnsResolver(Box<DnsResolver>),
    InboundEndpoint(Box<InboundEndpoint>),
    OnPremisesNetwork(Box<OnPremisesNetwork>),
    Certificate(Box<CertificateObject>),
    CertificateIssuer(Box<CertificateIssuer>),
    CertificateContacts(CertificateContacts),
    Deployment(Box<Deployment>),
    PublicIpAddress(Box<PublicIpAddress>),
    NetworkSecurityGroup(Box<NetworkSecurityGroup>),
    VirtualMachine(Box<VirtualMachine>),
    VmRunCommand(Box<VmRunCommand>),
}

/// The kind of a record (its variant), for the state's per-kind index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Tenant,
    Application,
    Principal,
    Subscription,
    ResourceGroup,
    Vault,
    DeletedVault,
    PrivateEndpointConnection,
    VirtualNetwork,
    Subnet,
    NetworkInterface,
    PrivateEndpoint,
    PrivateDnsZoneGroup,
    PrivateDnsZone,
    VirtualNetworkLink,
    RecordSet,
    RoleAssignment,
    RoleDefinition,
    Secret,
    VirtualNetworkPeering,
    Key,
    DnsResolver,
    InboundEndpoint,
    OnPremisesNetwork,
    Certificate,
    CertificateIssuer,
    CertificateContacts,
    Deployment,
    PublicIpAddress,
    NetworkSecurityGroup,
    VirtualMachine,
    VmRunCommand,
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Tenant(_) => RecordKind::Tenant,
            Record::Application(_) => RecordKind::Application,
            Record::Principal(_) => RecordKind::Principal,
            Record::Subscription(_) => RecordKind::Subscription,
            Record::ResourceGroup(_) => RecordKind::ResourceGroup,
            Record::Vault(_) => RecordKind::Vault,
            Record::DeletedVault(_) => RecordKind::DeletedVault,
            Record::PrivateEndpointConnection(_) => RecordKind::PrivateEndpointConnection,
            Record::VirtualNetwork(_) => RecordKind::VirtualNetwork,
            Record::Subnet(_) => RecordKind::Subnet,
            Record::NetworkInterface(_) => RecordKind::NetworkInterface,
            Record::PrivateEndpoint(_) => RecordKind::PrivateEndpoint,
            Record::PrivateDnsZoneGroup(_) => RecordKind::PrivateDnsZoneGroup,
            Record::PrivateDnsZone(_) => RecordKind::PrivateDnsZone,
            Record::VirtualNetworkLink(_) => RecordKind::VirtualNetworkLink,
            Record::RecordSet(_) => RecordKind::RecordSet,
            Record::RoleAssignment(_) => RecordKind::RoleAssignment,
            Record::RoleDefinition(_) => RecordKind::RoleDefinition,
            Record::Secret(_) => RecordKind::Secret,
            Record::VirtualNetworkPeering(_) => RecordKind::VirtualNetworkPeering,
            Record::Key(_) => RecordKind::Key,
            Record::DnsResolver(_) => RecordKind::DnsResolver,
            Record::InboundEndpoint(_) => RecordKind::InboundEndpoint,
            Record::OnPremisesNetwork(_) => RecordKind::OnPremisesNetwork,
            Record::Certificate(_) => RecordKind::Certificate,
            Record::CertificateIssuer(_) => RecordKind::CertificateIssuer,
            Record::CertificateContacts(_) => RecordKind::CertificateContacts,
            Record::Deployment(_) => RecordKind::Deployment,
            Record::PublicIpAddress(_) => RecordKind::PublicIpAddress,
            Record::NetworkSecurityGroup(_) => RecordKind::NetworkSecurityGroup,
            Record::VirtualMachine(_) => RecordKind::VirtualMachine,
            Record::VmRunCommand(_) => RecordKind::VmRunCommand,
        }
    }
}

/// The on-disk envelope: schema version plus the record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub v: u32,
    #[serde(flatten)]
    pub record: Record,
}

/// `Stored` as it is written: the same envelope around a borrowed record, so writing a batch
/// or a snapshot does not copy its records first.
#[derive(Serialize)]
pub struct StoredRef<'a> {
    pub v: u32,
    #[serde(flatten)]
    pub record: &'a Record,
}

/// Records stay small in the state's map, whose slots are each as large as the largest
/// variant: larger kinds are boxed (a secret is the commonest record; BENCHMARKS.md, memory).
const _: () = assert!(size_of::<Record>() <= 144);

/// Current schema version of every record kind.
pub const SCHEMA_VERSION: u32 = 1;

/// An Entra tenant (directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub tenant_id: String,
    pub display_name: String,
    /// `{name}.onmicrosoft.com`: users' names end with it, and token URLs may name the tenant by it.
    pub default_domain: String,
    /// What its subscriptions may hold and its callers may ask (`quota`); none by default.
    #[serde(default, skip_serializing_if = "crate::quota::Quota::is_unlimited")]
    pub quota: crate::quota::Quota,
}

/// An Entra application registration: the app id its service principals share, and its client
/// secrets. It lives in its home tenant; a multi-tenant one may have service principals elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub object_id: String,
    pub app_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// `AzureADMyOrg` or `AzureADMultipleOrgs` (service principals in other tenants allowed).
    pub sign_in_audience: String,
    pub password_credentials: Vec<PasswordCredential>,
    /// Object ids of the owners (who may add and remove its secrets without a directory role).
    pub owners: Vec<String>,
    pub created_at: i64,
}

/// A client secret of an application: only its hash is kept; the text is shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The secret's first three characters, as Graph shows them.
    pub hint: String,
    /// The secret's Argon2id hash (`vaultlink_crypto::hash_secret`'s PHC string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// SHA-256 of the secret, hex: how secrets were kept before Argon2id. Read from older state
    /// files and replaced by `secret_hash` at the secret's first successful sign-in; never written
    /// for a new secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
    pub start: i64,
    pub end: i64,
}

/// A service principal, managed identity or user of a tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// The application id; for a user, its user principal name (what ARM's refusals name).
    pub app_id: String,
    pub object_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// The principal's own client secret, for principals seeded or made by `vaultlink principal
    /// add` before applications held secrets (the seeded developer's): its Argon2id hash
    /// (`vaultlink_crypto::hash_secret`'s PHC string). `None` otherwise (then the application's
    /// secrets count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    /// The same secret as hex SHA-256, as older state files hold it; replaced by `secret_hash` at
    /// its first successful sign-in, never written anew.
    pub secret_sha256: Option<String>,
    pub managed_identity: bool,
    /// Set for a user (a person who signs in with a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserAccount>,
    /// Holds the directory's Global Administrator role (may create users, applications and
    /// service principals through Graph).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub directory_admin: bool,
}

/// What a user has beyond a service principal: its sign-in name and password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAccount {
    pub user_principal_name: String,
    pub mail_nickname: String,
    /// `vaultlink_crypto::hash_password`'s form; never the password.
    pub password_hash: String,
    pub account_enabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    pub display_name: String,
    pub tenant_id: String,
    /// Registered resource providers: lower-cased namespace -> namespace as Azure spells it.
    pub registered_providers: BTreeMap<String, String>,
    /// Providers unregistered since: lower-cased namespace -> when the unregistration began
    /// (`Unregistering` for a few seconds, then `Unregistered`; registry::render_provider).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unregistered_providers: BTreeMap<String, i64>,
}

impl Subscription {
    /// Where the subscription `sub` is stored: its resource id.
    pub fn key(sub: &str) -> String {
        format!("/subscriptions/{sub}")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub managed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    /// Stable internal id: data-plane objects are keyed by it, so a purged and re-created vault
    /// of the same name never sees the old one's secrets.
    pub internal_id: String,
    pub tenant_id: String,
    pub sku_name: String,
    pub sku_family: String,
    pub access_policies: Vec<AccessPolicy>,
    pub enabled_for_deployment: bool,
    pub enabled_for_disk_encryption: bool,
    pub enabled_for_template_deployment: bool,
    pub enable_soft_delete: bool,
    pub soft_delete_retention_in_days: u32,
    pub enable_rbac_authorization: bool,
    pub enable_purge_protection: bool,
    pub network_acls: NetworkAcls,
    pub public_network_access: String,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl Vault {
    /// The subscription the vault belongs to (backups are bound to it).
    pub fn subscription(&self) -> String {
        self.id.split('/').nth(2).unwrap_or_default().to_string()
    }

    /// The key prefix under which the vault's data-plane objects live.
    pub fn objects_root(&self) -> String {
        format!("/vaultdata/{}", self.internal_id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    pub tenant_id: String,
    pub object_id: String,
    pub application_id: Option<String>,
    pub keys: Vec<String>,
    pub secrets: Vec<String>,
    pub certificates: Vec<String>,
    pub storage: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    pub bypass: String,
    pub default_action: String,
    /// Canonical CIDRs (`a.b.c.d/n`).
    pub ip_rules: Vec<String>,
    pub virtual_network_rules: Vec<VirtualNetworkRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkRule {
    /// Subnet id, lower-cased as Azure echoes it.
    pub id: String,
    pub ignore_missing_vnet_service_endpoint: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedVault {
    /// `/subscriptions/{s}/providers/Microsoft.KeyVault/locations/{l}/deletedVaults/{name}`.
    pub id: String,
    pub vault: Vault,
    pub deletion_date: i64,
    pub scheduled_purge_date: i64,
}

impl DeletedVault {
    /// Still kept by soft delete at time `t` (see [`DeletedState::retained_at`]).
    pub fn retained_at(&self, t: i64) -> bool {
        t < self.scheduled_purge_date
    }
}

/// The vault side of a private endpoint connection; the endpoint side's state is derived from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpointConnection {
    pub id: String,
    pub name: String,
    pub private_endpoint_id: String,
    pub status: String,
    pub description: String,
    pub actions_required: String,
    pub provisioning_state: String,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetwork {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub address_prefixes: Vec<String>,
    pub dns_servers: Vec<String>,
    pub resource_guid: String,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub address_prefix: String,
    pub private_endpoint_network_policies: String,
    pub private_link_service_network_policies: String,
    pub service_endpoints: Vec<ServiceEndpoint>,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEndpoint {
    pub service: String,
    pub locations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub subnet_id: String,
    pub ip_configuration_name: String,
    pub private_ip_address: String,
    pub private_ip_allocation_method: String,
    /// Set for the read-only NIC a private endpoint owns.
    pub private_endpoint_id: Option<String>,
    /// For an endpoint NIC: the group id (`vault`), member name and FQDNs it serves.
    pub private_link: Option<PrivateLinkConnectionProperties>,
    pub resource_guid: String,
    pub mac_address: String,
    pub etag: String,
    /// The network security group the NIC names (`properties.networkSecurityGroup.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_security_group_id: Option<String>,
    /// The public IP address its IP configuration names (`ipConfigurations[0].properties.publicIPAddress.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_ip_address_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateLinkConnectionProperties {
    pub group_id: String,
    pub required_member_name: String,
    pub fqdns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateEndpoint {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub subnet_id: String,
    pub network_interface_id: String,
    pub private_ip_address: String,
    pub connections: Vec<EndpointConnection>,
    pub custom_network_interface_name: Option<String>,
    pub resource_guid: String,
    pub etag: String,
}

/// One `privateLinkServiceConnections` / `manualPrivateLinkServiceConnections` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConnection {
    pub name: String,
    pub private_link_service_id: String,
    pub group_ids: Vec<String>,
    pub request_message: Option<String>,
    pub manual: bool,
    /// The vault-side connection this one created (its id), if the target accepted it.
    pub vault_connection_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneGroup {
    pub id: String,
    pub name: String,
    pub private_endpoint_id: String,
    pub configs: Vec<PrivateDnsZoneConfig>,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZoneConfig {
    pub name: String,
    pub private_dns_zone_id: String,
    /// The record sets (ids) this config wrote, removed again with the group.
    pub record_set_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateDnsZone {
    pub id: String,
    pub name: String,
    pub tags: Tags,
    pub internal_id: String,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkLink {
    pub id: String,
    pub name: String,
    pub zone_id: String,
    pub tags: Tags,
    pub virtual_network_id: String,
    pub registration_enabled: bool,
    pub resolution_policy: String,
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSet {
    pub id: String,
    pub zone_id: String,
    /// `A`, `AAAA`, `CNAME`, `MX`, `PTR`, `SOA`, `SRV`, `TXT`.
    pub record_type: String,
    /// Relative name; `@` for the apex.
    pub name: String,
    pub ttl: u32,
    pub metadata: Tags,
    pub data: RecordData,
    pub auto_registered: bool,
    pub etag: String,
}

/// Record data as stored: the wire keys (`aRecords`, ...) map to these.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecordData {
    pub a: Vec<String>,
    pub aaaa: Vec<String>,
    pub cname: Option<String>,
    pub mx: Vec<(u16, String)>,
    pub ptr: Vec<String>,
    pub srv: Vec<(u16, u16, u16, String)>,
    pub txt: Vec<Vec<String>>,
    pub soa: Option<Soa>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Soa {
    pub email: String,
    pub expire_time: u32,
    pub host: String,
    pub minimum_ttl: u32,
    pub refresh_time: u32,
    pub retry_time: u32,
    pub serial_number: u32,
}

/// A Microsoft.Authorization role assignment, keyed under its scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub name: String,
    pub scope: String,
    /// The role's GUID (the last segment of `roleDefinitionId`).
    pub role_definition_name: String,
    pub principal_id: String,
    pub principal_type: String,
    pub description: Option<String>,
    pub created_on: i64,
    pub created_by: String,
}

/// A custom role definition of the tenant (`az role definition create`), keyed tenant-wide by
/// its GUID.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomRole {
    pub name: String,
    pub role_name: String,
    pub description: Option<String>,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
    pub assignable_scopes: Vec<String>,
    pub created_on: i64,
    pub updated_on: i64,
    pub created_by: String,
}

/// A Key Vault secret: every version, and its deleted state. Values are sealed (AES-256-GCM,
/// bound to vault, name and version); the plaintext never reaches the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretObject {
    pub vault_internal_id: String,
    /// The name as first set (names compare case-insensitively).
    pub name: String,
    /// Oldest first; the last is the current version.
    #[serde(deserialize_with = "exact_vec")]
    pub versions: Vec<SecretVersion>,
    pub deleted: Option<DeletedState>,
    /// Backs a certificate: its lifetime is managed by the certificate (`managed: true`).
    #[serde(default)]
    pub managed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretVersion {
    pub version: String,
    /// Base64 of the sealed value.
    pub sealed_value: String,
    pub content_type: Option<String>,
    pub tags: Tags,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedState {
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

impl DeletedState {
    /// Still kept by soft delete at time `t`: its retention has not ended (after it, Key Vault
    /// has purged it, whether or not `keyvault::purge_due` has removed the record yet).
    pub fn retained_at(&self, t: i64) -> bool {
        t < self.scheduled_purge_date
    }
}

/// One side of a VNet peering (`virtualNetworks/{vnet}/virtualNetworkPeerings/{name}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualNetworkPeering {
    pub id: String,
    pub name: String,
    pub vnet_id: String,
    pub remote_vnet_id: String,
    pub allow_virtual_network_access: bool,
    pub etag: String,
}

/// A Key Vault key: every version, its deleted state and rotation policy. The private key
/// (PKCS#8 DER) is sealed like secret values (bound to vault, name and version); public parts are
/// kept in the clear (base64url, as the JWK renders them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyObject {
    pub vault_internal_id: String,
    /// The name as first created (names compare case-insensitively).
    pub name: String,
    /// Oldest first; the last is the current version.
    #[serde(deserialize_with = "exact_vec")]
    pub versions: Vec<KeyVersion>,
    pub deleted: Option<DeletedState>,
    /// The rotation policy as last set (wire shape), if any.
    #[serde(default)]
    pub rotation_policy: Option<serde_json::Value>,
    /// Backs a certificate: its lifetime is managed by the certificate (`managed: true`).
    #[serde(default)]
    pub managed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyVersion {
    pub version: String,
    /// `RSA`, `RSA-HSM`, `EC` or `EC-HSM`, as created or imported.
    pub kty: String,
    /// RSA modulus size in bits.
    pub key_size: Option<u32>,
    /// EC curve name (`P-256`, `P-384`, `P-521`, `P-256K`).
    pub crv: Option<String>,
    /// Public parts, base64url without padding: `n`, `e` (RSA) or `x`, `y` (EC).
    pub public: BTreeMap<String, String>,
    /// Base64 of the sealed PKCS#8 DER private key.
    pub sealed_private: String,
    pub key_ops: Vec<String>,
    pub tags: Tags,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

/// `Microsoft.Network/dnsResolvers` (minimal): a DNS Private Resolver in a VNet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsResolver {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub virtual_network_id: String,
    pub resource_guid: String,
    pub etag: String,
}

/// `dnsResolvers/{r}/inboundEndpoints/{name}`: an address in a dedicated subnet that answers as
/// Azure DNS of the resolver's VNet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundEndpoint {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub resolver_id: String,
    pub subnet_id: String,
    pub private_ip_address: String,
    pub etag: String,
}

/// An on-premises network (vaultlink's own object: Azure does not model the other side of a VPN):
/// joined to `gateway_vnet_id` by a gateway, with its own DNS server and conditional forwarders.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnPremisesNetwork {
    pub id: String,
    pub name: String,
    pub gateway_vnet_id: String,
    pub address_space: String,
    /// The client machine's address (`.10` of the space) and the DNS server's (`.53`).
    pub client_address: String,
    pub dns_server: String,
    /// The address its traffic to the internet leaves with.
    pub public_address: String,
    /// Conditional forwarders: zone -> target address.
    pub forwarders: Vec<(String, String)>,
}

/// A Key Vault certificate: its versions (each backed by a key and a secret of the same name and
/// version, `managed`), its policy, its pending operation and deleted state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateObject {
    pub vault_internal_id: String,
    /// The name as first created (names compare case-insensitively).
    pub name: String,
    /// Oldest first; the last is the current version.
    #[serde(deserialize_with = "exact_vec")]
    pub versions: Vec<CertificateVersion>,
    pub deleted: Option<DeletedState>,
    /// The policy in its wire shape (normalised, without `id`).
    pub policy: serde_json::Value,
    pub pending: Option<PendingCertificate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateVersion {
    pub version: String,
    /// Base64 DER of the chain in the secret's order: leaf first, unless the version was made
    /// with `preserveCertOrder: true`, which keeps the order it was given in.
    pub chain: Vec<String>,
    /// Where the leaf (`cer`, the certificate of the version's key) is in `chain`.
    #[serde(default)]
    pub leaf: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_cert_order: Option<bool>,
    pub tags: Tags,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

impl CertificateVersion {
    /// The leaf certificate, base64 DER.
    pub fn cer(&self) -> Option<&String> {
        self.chain.get(self.leaf)
    }
}

/// A certificate operation (`/certificates/{name}/pending`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCertificate {
    pub request_id: String,
    pub issuer: String,
    /// Base64 DER of the PKCS#10 request (none for a completed self-signed create).
    pub csr: Option<String>,
    /// `inProgress`, `completed`, `cancelled`.
    pub status: String,
    pub status_details: Option<String>,
    pub cancellation_requested: bool,
    /// The version the merge will create, and its private key (sealed PKCS#8) while in progress.
    pub version: String,
    pub sealed_private: Option<String>,
    pub enabled: bool,
    pub tags: Tags,
    /// The certificate's id once completed.
    pub target: Option<String>,
    /// When the operation was requested (Unix seconds).
    #[serde(default)]
    pub created: i64,
    /// `preserveCertOrder` of the create request, for the merged chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_cert_order: Option<bool>,
}

/// A certificate issuer (`/certificates/issuers/{name}`). The password is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateIssuer {
    pub vault_internal_id: String,
    pub name: String,
    pub provider: String,
    pub account_id: Option<String>,
    pub sealed_password: Option<String>,
    pub org_details: Option<serde_json::Value>,
    pub enabled: bool,
    pub created: i64,
    pub updated: i64,
}

/// The vault's certificate contacts (`/certificates/contacts`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateContacts {
    pub vault_internal_id: String,
    pub contacts: Vec<serde_json::Value>,
}

/// A template deployment (`Microsoft.Resources/deployments`) at a resource group or a
/// subscription: what was asked (template, parameters, mode), how far it got, and what it left.
/// Its history stays until the deployment is deleted (the resources it made stay regardless).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub name: String,
    /// A subscription-scope deployment's location.
    pub location: Option<String>,
    pub tags: Tags,
    /// `Incremental` or `Complete`.
    pub mode: String,
    pub template: serde_json::Value,
    pub template_hash: String,
    /// The parameters as ARM echoes them (a secure parameter's value left out).
    pub parameters: serde_json::Value,
    /// Every parameter with its value, sealed with the root key (base64url), so that a failed
    /// deployment's `onErrorDeployment` can replay the last successful one.
    pub sealed_parameters: String,
    /// `Accepted`, `Running`, `Succeeded`, `Failed`, `Canceled`.
    pub provisioning_state: String,
    pub correlation_id: String,
    /// When it was accepted and when it last changed state (Unix milliseconds).
    pub started_ms: i64,
    pub updated_ms: i64,
    pub outputs: Option<serde_json::Value>,
    /// The ids of the resources it deployed.
    pub output_resources: Vec<String>,
    /// `DeploymentFailed` with each failed operation's error, as ARM reports it.
    pub error: Option<serde_json::Value>,
    /// The request's `onErrorDeployment`, and once replayed, its `provisioningState`.
    pub on_error: Option<serde_json::Value>,
    pub operations: Vec<DeploymentOperation>,
    /// What each resource waits for, as ARM renders `dependencies` (from the template's
    /// `dependsOn` and the references it implies); a record from before this field has none.
    #[serde(default)]
    pub dependencies: Vec<serde_json::Value>,
    /// A linked template's and parameter file's links (`templateLink`, `parametersLink`), as
    /// the request gave them (a relative path resolved to its `uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_link: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters_link: Option<serde_json::Value>,
    /// `debugSetting.detailLevel`: `none`, `requestContent`, `responseContent` or both (comma
    /// separated), as given; the operations then keep what it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_detail_level: Option<String>,
}

/// One resource operation of a deployment (`.../deployments/{name}/operations/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentOperation {
    pub operation_id: String,
    /// `Create` or `Delete` (a `Complete` deployment's removals).
    pub provisioning_operation: String,
    pub provisioning_state: String,
    pub resource_id: String,
    pub resource_type: String,
    pub resource_name: String,
    /// The resource provider's answer: `Created`, `OK`, `BadRequest`, ...
    pub status_code: String,
    /// The provider's error body, for a failed operation.
    pub status_message: Option<serde_json::Value>,
    pub started_ms: i64,
    pub ended_ms: i64,
    /// The request's and the answer's content, when `debugSetting` asked for them (a secure
    /// parameter's value never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

/// `Microsoft.Network/publicIPAddresses`: an address from vaultlink's public range
/// (`network::publicip::PUBLIC_RANGE`). Which IP configuration uses it is derived from the NICs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIpAddress {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    /// `Basic` or `Standard`.
    pub sku: String,
    /// `Static` or `Dynamic`.
    pub allocation_method: String,
    pub idle_timeout_in_minutes: u32,
    pub domain_name_label: Option<String>,
    pub ip_address: String,
    pub resource_guid: String,
    pub etag: String,
    /// What deleting the VM whose NIC uses it does: `Delete` or `Detach` (None: never set, which
    /// Azure treats as Detach).
    #[serde(default)]
    pub delete_option: Option<String>,
}

/// `Microsoft.Network/networkSecurityGroups`: rules stored and shown, never enforced. Which NICs
/// use it is derived from the NICs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSecurityGroup {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub security_rules: Vec<SecurityRule>,
    pub resource_guid: String,
    pub etag: String,
}

/// One security rule as given (`securityRules[]`, or a `securityRules/{name}` child).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecurityRule {
    pub name: String,
    pub description: Option<String>,
    /// `Tcp`, `Udp`, `Icmp`, `Esp`, `Ah` or `*`.
    pub protocol: String,
    pub source_port_range: Option<String>,
    pub source_port_ranges: Vec<String>,
    pub destination_port_range: Option<String>,
    pub destination_port_ranges: Vec<String>,
    pub source_address_prefix: Option<String>,
    pub source_address_prefixes: Vec<String>,
    pub destination_address_prefix: Option<String>,
    pub destination_address_prefixes: Vec<String>,
    /// `Allow` or `Deny`.
    pub access: String,
    pub priority: u32,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    pub etag: String,
}

/// A virtual machine (`Microsoft.Compute/virtualMachines`): its size, image, OS profile (never a
/// password), NICs and power state. On the network it is its primary NIC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachine {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    #[serde(default)]
    pub zones: Vec<String>,
    pub vm_id: String,
    pub vm_size: String,
    pub image: VmImage,
    pub computer_name: String,
    pub admin_username: String,
    pub ssh_public_keys: Vec<VmSshKey>,
    pub disable_password_authentication: bool,
    pub os_disk: VmOsDisk,
    pub nics: Vec<VmNic>,
    /// `running`, `stopped` or `deallocated`.
    pub power_state: String,
    pub time_created: i64,
}

/// The platform image a VM was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmImage {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
    /// As asked (`latest` or a version).
    pub version: String,
    pub exact_version: String,
    /// `Linux` or `Windows`.
    pub os_type: String,
    pub hyper_v_generation: String,
}

impl VmImage {
    /// The same image, whatever the casing and whether the version was `latest`.
    pub fn same_image(&self, other: &VmImage) -> bool {
        self.publisher.eq_ignore_ascii_case(&other.publisher)
            && self.offer.eq_ignore_ascii_case(&other.offer)
            && self.sku.eq_ignore_ascii_case(&other.sku)
            && self.exact_version == other.exact_version
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSshKey {
    pub path: String,
    pub key_data: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmOsDisk {
    pub name: String,
    pub caching: String,
    pub storage_account_type: String,
    /// `Delete` or `Detach`.
    pub delete_option: String,
    pub disk_size_gb: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmNic {
    pub id: String,
    pub primary: bool,
    /// `Delete` or `Detach`: what deleting the VM does to the NIC.
    pub delete_option: String,
}

/// `Microsoft.Compute/virtualMachines/runCommands`: a managed run command, stored below its VM.
/// Protected parameters and a run-as password are never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmRunCommand {
    pub id: String,
    pub name: String,
    pub location: String,
    pub tags: Tags,
    pub vm_id: String,
    pub script: String,
    pub parameters: Vec<(String, String)>,
    pub async_execution: bool,
    /// As given; 0 means Run Command's 90 minutes.
    pub timeout_in_seconds: u32,
    pub treat_failure_as_deployment_failure: bool,
    /// `Creating` while a synchronous run is under way, then `Succeeded` (or `Failed`).
    pub provisioning_state: String,
    /// Which run the instance view is of: a new PUT starts a new run, and a run that ends after
    /// it records nothing.
    pub run_id: String,
    pub instance: RunCommandInstance,
}

/// A run command's last run (`instanceView`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCommandInstance {
    pub execution_state: String,
    pub execution_message: String,
    pub exit_code: Option<i32>,
    pub output: String,
    pub error: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// A list read from the store with no room to spare. serde collects a JSON array by pushing, so a
/// list of one version was loaded with room for four: for a small secret, more memory than the
/// rest of its record (BENCHMARKS.md, memory per stored secret).
fn exact_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

/// Adds a version to an object's list with room for exactly that one: pushed onto from empty, a
/// list takes room for four (see `exact_vec`).
pub(crate) fn push_exact<T>(list: &mut Vec<T>, item: T) {
    list.reserve_exact(1);
    list.push(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_loaded_from_the_store_holds_no_spare_version_slots() {
        let version = serde_json::json!({"version": "v1", "sealedValue": "x", "contentType": null, "tags": {},
            "enabled": true, "nbf": null, "exp": null, "created": 1, "updated": 1});
        for n in [1, 2, 5] {
            let stored = serde_json::json!({"vaultInternalId": "i", "name": "s", "versions": vec![version.clone(); n],
                "deleted": null});
            // From bytes, as the store's records are read (a `Value` would tell serde the length).
            let secret: SecretObject = serde_json::from_slice(stored.to_string().as_bytes()).unwrap();
            assert_eq!((secret.versions.len(), secret.versions.capacity()), (n, n));
        }
    }
}
