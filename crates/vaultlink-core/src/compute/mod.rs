//! Microsoft.Compute: virtual machines, the part `az vm` uses for the seed's "Validate" section:
//! a VM is its size, image, OS profile and network interfaces, with a power state. What it is on
//! the network is its primary NIC (the NIC's address, its VNet's DNS view, its public IP); running
//! a command on it is the surface's (`arm/compute.rs`). The images and sizes are `catalog.rs`.
//! Builds on `network` (the NICs); nothing below imports it.

pub mod catalog;
pub mod runcommand;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Batch, State, guid};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::model::{Record, RecordKind, Tags, VirtualMachine, VmImage, VmNic, VmOsDisk, VmSshKey};
use crate::{network, resources, wire};

pub const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

/// Power states (`PowerState/{state}` in the instance view).
pub mod power {
    pub const RUNNING: &str = "running";
    pub const STOPPED: &str = "stopped";
    pub const DEALLOCATED: &str = "deallocated";
}

/// Network interfaces one VM may have (Azure's largest sizes allow 8; vaultlink's sizes fewer,
/// one limit for all here: docs/behaviour.md).
pub const MAX_NICS: usize = 8;

/// User names Azure refuses for a VM's administrator (Compute's documented list).
const RESERVED_USERS: &[&str] = &[
    "administrator",
    "admin",
    "user",
    "user1",
    "test",
    "user2",
    "test1",
    "user3",
    "admin1",
    "1",
    "123",
    "a",
    "actuser",
    "adm",
    "admin2",
    "aspnet",
    "backup",
    "console",
    "david",
    "guest",
    "john",
    "owner",
    "root",
    "server",
    "sql",
    "support",
    "support_388945a0",
    "sys",
    "test2",
    "test3",
    "user4",
    "user5",
];

// ---------------------------------------------------------------- the typed input

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmSpec {
    pub location: String,
    #[serde(default)]
    pub tags: Option<Tags>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub properties: VmPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmPropertiesSpec {
    pub hardware_profile: Option<HardwareProfile>,
    pub storage_profile: Option<StorageProfile>,
    pub os_profile: Option<OsProfile>,
    pub network_profile: Option<NetworkProfile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareProfile {
    pub vm_size: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageProfile {
    pub image_reference: Option<ImageReference>,
    #[serde(default)]
    pub os_disk: Option<OsDiskSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageReference {
    pub publisher: Option<String>,
    pub offer: Option<String>,
    pub sku: Option<String>,
    pub version: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsDiskSpec {
    pub name: Option<String>,
    pub caching: Option<String>,
    pub create_option: Option<String>,
    pub delete_option: Option<String>,
    #[serde(rename = "diskSizeGB")]
    pub disk_size_gb: Option<u32>,
    pub managed_disk: Option<ManagedDiskSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedDiskSpec {
    pub storage_account_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OsProfile {
    pub computer_name: Option<String>,
    pub admin_username: Option<String>,
    /// Accepted and never kept: nothing signs in to a vaultlink VM with it, and Azure never
    /// returns it.
    pub admin_password: Option<String>,
    pub linux_configuration: Option<LinuxConfiguration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxConfiguration {
    #[serde(default)]
    pub disable_password_authentication: bool,
    pub ssh: Option<SshConfiguration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SshConfiguration {
    #[serde(default)]
    pub public_keys: Vec<VmSshKey>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkProfile {
    #[serde(default)]
    pub network_interfaces: Vec<NicReference>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicReference {
    pub id: String,
    #[serde(default)]
    pub properties: NicReferenceProperties,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicReferenceProperties {
    pub primary: Option<bool>,
    pub delete_option: Option<String>,
}

// ---------------------------------------------------------------- errors

/// Compute's `InvalidParameter` (Azure names the property at fault as the error's `target`, which
/// vaultlink's error body does not carry; the message names it).
fn invalid_parameter(_target: &str, message: impl Into<String>) -> Error {
    Error::bad_request("InvalidParameter", message)
}

fn required(target: &str) -> Error {
    invalid_parameter(target, format!("Required parameter '{target}' is missing (null)."))
}

fn change_not_allowed(property: &str) -> Error {
    Error::conflict("PropertyChangeNotAllowed", format!("Changing property '{property}' is not allowed."))
}

// ---------------------------------------------------------------- lookups

pub fn vm_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

pub fn vm(state: &State, id: &str) -> Option<VirtualMachine> {
    match state.get(id) {
        Some(Record::VirtualMachine(v)) => Some((**v).clone()),
        _ => None,
    }
}

pub fn get_vm(state: &State, caller: &Caller, (sub, rg, name): (&str, &str, &str)) -> Result<VirtualMachine> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    vm(state, &vm_id(sub, &group.name, name)).ok_or_else(|| Error::resource_not_found(VM_TYPE, name, &group.name))
}

/// Every VM in a scope (a subscription or resource group id).
pub fn vms_in(state: &State, scope: &str) -> Vec<VirtualMachine> {
    network::list_in(state, scope, |r| match r {
        Record::VirtualMachine(v) => Some((**v).clone()),
        _ => None,
    })
}

/// The VM a NIC is attached to, if any.
pub fn vm_of_nic(state: &State, nic_id: &str) -> Option<VirtualMachine> {
    state.of_kind(RecordKind::VirtualMachine).find_map(|r| match r {
        Record::VirtualMachine(v) if v.nics.iter().any(|n| n.id.eq_ignore_ascii_case(nic_id)) => Some((**v).clone()),
        _ => None,
    })
}

/// A VM's primary NIC (the first when none is marked).
pub fn primary_nic(v: &VirtualMachine) -> Option<&VmNic> {
    v.nics.iter().find(|n| n.primary).or_else(|| v.nics.first())
}

/// A VM named by name (any resource group) or id.
pub fn find_vm(state: &State, name_or_id: &str) -> Option<VirtualMachine> {
    let by_id = name_or_id.starts_with('/');
    state.of_kind(RecordKind::VirtualMachine).find_map(|r| match r {
        Record::VirtualMachine(v) if (if by_id { &v.id } else { &v.name }).eq_ignore_ascii_case(name_or_id) => {
            Some((**v).clone())
        }
        _ => None,
    })
}

// ---------------------------------------------------------------- writes

/// A VM's name: 1-64 characters (15 for Windows, its computer name's limit), letters, digits,
/// `-`, `_` and `.`, starting with a letter or digit and not ending with `.` or `-`.
pub fn validate_name(name: &str, windows: bool) -> Result<()> {
    let max = if windows { 15 } else { 64 };
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.ends_with(['.', '-']);
    if !ok {
        return Err(invalid_parameter(
            "resourceName",
            format!(
                "Virtual machine name '{name}' is invalid. It can contain only letters, digits, '-', '_' and '.', must start with a letter or digit, and cannot end with '.' or '-'."
            ),
        ));
    }
    if name.len() > max {
        return Err(invalid_parameter(
            "windowsConfiguration",
            format!(
                "Windows computer name cannot be more than {max} characters long, be entirely numeric, or contain the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] {{ }} \\ | ; : . ' \" , < > / ?."
            ),
        ));
    }
    Ok(())
}

/// PUT a virtual machine: a new one is created running; an existing one takes a new size and
/// tags (its image and OS profile cannot change, as in Azure).
pub fn put_vm(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, name): (&str, &str, &str),
    spec: VmSpec,
) -> Result<(VirtualMachine, bool)> {
    let group = resources::resource_group(state, caller, sub, rg)?;
    resources::require_provider(state, sub, "Microsoft.Compute")?;
    let location = resources::location(&spec.location)?;
    let id = vm_id(sub, &group.name, name);
    let existing = vm(state, &id);
    let p = spec.properties;

    let size = match p.hardware_profile.and_then(|h| h.vm_size) {
        Some(s) => s,
        None => existing.as_ref().map(|e| e.vm_size.clone()).unwrap_or_else(|| "Standard_DS1_v2".into()),
    };
    let Some(size) = catalog::size(&size) else {
        return Err(invalid_parameter(
            "vmSize",
            format!(
                "The value {size} provided for the VM size is not valid. The valid sizes in the current region are: {}.",
                catalog::SIZES.iter().map(catalog::Size::name).collect::<Vec<_>>().join(",")
            ),
        ));
    };

    let storage = p.storage_profile.unwrap_or_default();
    let image = match (&existing, storage.image_reference) {
        (None, None) => return Err(required("imageReference")),
        (None, Some(r)) => resolve_image(&r)?,
        (Some(e), None) => e.image.clone(),
        (Some(e), Some(r)) => {
            let asked = resolve_image(&r)?;
            if !asked.same_image(&e.image) {
                return Err(change_not_allowed("imageReference"));
            }
            e.image.clone()
        }
    };
    let windows = image.os_type == "Windows";
    validate_name(name, windows)?;

    let (computer_name, admin_username, ssh_keys, disable_password) = match (&existing, p.os_profile) {
        (None, None) => return Err(required("osProfile")),
        (None, Some(os)) => os_profile(name, windows, os)?,
        (Some(e), os) => {
            if let Some(os) = os
                && os.admin_username.as_ref().is_some_and(|u| *u != e.admin_username)
            {
                return Err(change_not_allowed("adminUsername"));
            }
            (
                e.computer_name.clone(),
                e.admin_username.clone(),
                e.ssh_public_keys.clone(),
                e.disable_password_authentication,
            )
        }
    };

    let nics = match (p.network_profile, &existing) {
        (Some(np), _) if !np.network_interfaces.is_empty() => nics(state, &id, &location, np)?,
        (_, Some(e)) => e.nics.clone(),
        _ => return Err(required("networkProfile")),
    };

    let os_disk = match &existing {
        Some(e) => e.os_disk.clone(),
        None => {
            let d = storage.os_disk.unwrap_or_default();
            VmOsDisk {
                name: d.name.unwrap_or_else(|| format!("{name}_OsDisk_1_{}", guid().replace('-', ""))),
                caching: d.caching.unwrap_or_else(|| "ReadWrite".into()),
                storage_account_type: d
                    .managed_disk
                    .and_then(|m| m.storage_account_type)
                    .unwrap_or_else(|| "Premium_LRS".into()),
                delete_option: d.delete_option.unwrap_or_else(|| "Detach".into()),
                disk_size_gb: d.disk_size_gb.unwrap_or(if windows { 127 } else { 30 }),
            }
        }
    };

    let v = VirtualMachine {
        id: existing.as_ref().map_or(id.clone(), |e| e.id.clone()),
        name: existing.as_ref().map_or(name.to_string(), |e| e.name.clone()),
        location,
        tags: spec.tags.unwrap_or_default(),
        zones: spec.zones,
        vm_id: existing.as_ref().map_or_else(guid, |e| e.vm_id.clone()),
        vm_size: size.name().to_string(),
        image,
        computer_name,
        admin_username,
        ssh_public_keys: ssh_keys,
        disable_password_authentication: disable_password,
        os_disk,
        nics,
        power_state: existing.as_ref().map_or_else(|| power::RUNNING.to_string(), |e| e.power_state.clone()),
        time_created: existing.as_ref().map_or_else(|| state.now(), |e| e.time_created),
    };
    batch.put(&v.id, Record::VirtualMachine(Box::new(v.clone())));
    Ok((v, existing.is_none()))
}

fn resolve_image(r: &ImageReference) -> Result<VmImage> {
    if let Some(id) = &r.id {
        return Err(invalid_parameter(
            "imageReference",
            format!(
                "The image {id} is not a platform image: vaultlink offers only the platform images az names by alias."
            ),
        ));
    }
    let (Some(p), Some(o), Some(s)) = (&r.publisher, &r.offer, &r.sku) else {
        return Err(required("imageReference"));
    };
    let version = r.version.clone().unwrap_or_else(|| "latest".into());
    let not_found = || {
        Error::not_found(
            "PlatformImageNotFound",
            format!(
                "The platform image '{p}:{o}:{s}:{version}' is not available. Verify that all fields in the storage profile are correct. For more details about storage profile information, please refer to https://aka.ms/storageprofile"
            ),
        )
    };
    let i = catalog::image(p, o, s).ok_or_else(not_found)?;
    if !version.eq_ignore_ascii_case("latest") && version != i.version {
        return Err(not_found());
    }
    Ok(VmImage {
        publisher: i.publisher.into(),
        offer: i.offer.into(),
        sku: i.sku.into(),
        version,
        exact_version: i.version.into(),
        os_type: i.os.into(),
        hyper_v_generation: i.generation.into(),
    })
}

type OsFields = (String, String, Vec<VmSshKey>, bool);

fn os_profile(name: &str, windows: bool, os: OsProfile) -> Result<OsFields> {
    let user = os.admin_username.ok_or_else(|| required("adminUsername"))?;
    if RESERVED_USERS.contains(&user.to_ascii_lowercase().as_str()) || user.is_empty() || user.len() > 64 {
        return Err(invalid_parameter("adminUsername", "The Admin Username specified is not allowed."));
    }
    let (keys, disable_password) = match os.linux_configuration {
        Some(l) => (l.ssh.map(|s| s.public_keys).unwrap_or_default(), l.disable_password_authentication),
        None => (Vec::new(), false),
    };
    if windows && os.admin_password.is_none() {
        return Err(required("adminPassword"));
    }
    if !windows && disable_password && keys.is_empty() {
        return Err(invalid_parameter(
            "linuxConfiguration.ssh.publicKeys",
            "Authentication using either SSH or by user name and password must be enabled in Linux profile.",
        ));
    }
    if !windows && !disable_password && os.admin_password.is_none() && keys.is_empty() {
        return Err(required("adminPassword"));
    }
    let computer = os.computer_name.unwrap_or_else(|| name.to_string());
    Ok((computer, user, keys, disable_password))
}

/// The VM's NICs: each must exist in the VM's region, be a client NIC (an endpoint's is not a
/// VM's) and belong to no other VM; one is primary.
fn nics(state: &State, vm_id: &str, location: &str, np: NetworkProfile) -> Result<Vec<VmNic>> {
    if np.network_interfaces.len() > MAX_NICS {
        return Err(invalid_parameter(
            "networkInterfaces",
            format!(
                "The number of network interfaces ({}) exceeds the maximum of {MAX_NICS}.",
                np.network_interfaces.len()
            ),
        ));
    }
    let many = np.network_interfaces.len() > 1;
    let mut out = Vec::new();
    for r in np.network_interfaces {
        let n = network::nic(state, &r.id).filter(|n| n.location == location).ok_or_else(|| {
            Error::bad_request(
                "InvalidResourceReference",
                format!("Resource {} referenced by resource {vm_id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", r.id),
            )
        })?;
        if n.private_endpoint_id.is_some() {
            return Err(invalid_parameter(
                "networkInterfaces",
                format!(
                    "Network interface {} belongs to a private endpoint and cannot be attached to a virtual machine.",
                    n.id
                ),
            ));
        }
        if let Some(other) = vm_of_nic(state, &n.id).filter(|o| !o.id.eq_ignore_ascii_case(vm_id)) {
            return Err(Error::bad_request(
                "NicInUse",
                format!(
                    "Network Interface {} is used by existing resource {}. In order to use this network interface for a different resource, please remove it from the existing resource.",
                    n.id, other.id
                ),
            ));
        }
        let delete_option = r.properties.delete_option.unwrap_or_else(|| "Detach".into());
        if !matches!(delete_option.as_str(), "Delete" | "Detach") {
            return Err(invalid_parameter(
                "deleteOption",
                format!("The value '{delete_option}' is not valid for deleteOption: Delete or Detach."),
            ));
        }
        out.push(VmNic { id: n.id, primary: r.properties.primary.unwrap_or(!many), delete_option });
    }
    match out.iter().filter(|n| n.primary).count() {
        1 => Ok(out),
        0 if !many => Ok(out),
        _ => Err(invalid_parameter(
            "networkInterfaces",
            "Virtual machine must have exactly one network interface marked as primary when it has more than one.",
        )),
    }
}

/// DELETE a VM: its NICs with `deleteOption: Delete` go with it, and with each such NIC its
/// public IP address when that says `deleteOption: Delete`; the others stay, detached.
pub fn delete_vm(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let Ok(v) = get_vm(state, caller, key) else {
        resources::resource_group(state, caller, key.0, key.1)?;
        return Ok(false);
    };
    for n in v.nics.iter().filter(|n| n.delete_option == "Delete") {
        let pip =
            network::nic(state, &n.id).and_then(|x| x.public_ip_address_id).and_then(|p| network::public_ip(state, &p));
        if let Some(p) = pip.filter(|p| p.delete_option.as_deref() == Some("Delete")) {
            batch.delete(&p.id);
        }
        batch.delete(&n.id);
    }
    // The VM and what is stored below it (its run commands).
    batch.delete_tree(state, &v.id);
    Ok(true)
}

/// A power action: `start`, `powerOff`, `deallocate`, `restart`.
pub fn power_action(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: (&str, &str, &str),
    action: &str,
) -> Result<VirtualMachine> {
    let mut v = get_vm(state, caller, key)?;
    v.power_state = match action {
        "start" => power::RUNNING,
        "poweroff" => power::STOPPED,
        "deallocate" => power::DEALLOCATED,
        "restart" if v.power_state == power::RUNNING => power::RUNNING,
        "restart" => {
            return Err(Error::conflict(
                "OperationNotAllowed",
                format!("Operation 'Restart' is not allowed on VM '{}' since the VM is {}.", v.name, v.power_state),
            ));
        }
        other => return Err(Error::bad_request("InvalidParameter", format!("Unknown power action '{other}'."))),
    }
    .to_string();
    batch.put(&v.id.clone(), Record::VirtualMachine(Box::new(v.clone())));
    Ok(v)
}

/// What running a command needs: a running VM (Azure's 409 otherwise).
pub fn require_running(v: &VirtualMachine) -> Result<()> {
    if v.power_state == power::RUNNING {
        Ok(())
    } else {
        Err(Error::conflict(
            "OperationNotAllowed",
            format!("Operation 'RunCommand' is not allowed on VM '{}' since the VM is {}.", v.name, v.power_state),
        ))
    }
}

// ---------------------------------------------------------------- rendering

pub fn render_instance_view(v: &VirtualMachine) -> Value {
    let display = match v.power_state.as_str() {
        power::RUNNING => "VM running",
        power::STOPPED => "VM stopped",
        _ => "VM deallocated",
    };
    let time = crate::engine::rfc3339(v.time_created);
    json!({
        "computerName": v.computer_name,
        "osName": if v.image.os_type == "Windows" { "Windows Server" } else { "Linux" },
        "hyperVGeneration": v.image.hyper_v_generation,
        "vmAgent": {
            "vmAgentVersion": "2.13.1.1",
            "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready", "message": "Guest Agent is running", "time": time}],
        },
        "disks": [{"name": v.os_disk.name, "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": time}]}],
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": time},
            {"code": format!("PowerState/{}", v.power_state), "level": "Info", "displayStatus": display},
        ],
    })
}

pub fn render_vm(v: &VirtualMachine, instance_view: bool) -> Value {
    let (sub, rg) = network::id_parts(&v.id);
    let mut os_profile = json!({
        "computerName": v.computer_name,
        "adminUsername": v.admin_username,
        "secrets": [],
        "allowExtensionOperations": true,
        "requireGuestProvisionSignal": true,
    });
    if v.image.os_type == "Windows" {
        os_profile["windowsConfiguration"] = json!({"provisionVMAgent": true, "enableAutomaticUpdates": true, "patchSettings": {"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"}});
    } else {
        os_profile["linuxConfiguration"] = json!({
            "disablePasswordAuthentication": v.disable_password_authentication,
            "ssh": {"publicKeys": v.ssh_public_keys},
            "provisionVMAgent": true,
            "patchSettings": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault"},
        });
    }
    let disk_id = format!(
        "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Compute/disks/{}",
        rg.to_ascii_uppercase(),
        v.os_disk.name
    );
    let mut props = json!({
        "vmId": v.vm_id,
        "hardwareProfile": {"vmSize": v.vm_size},
        "storageProfile": {
            "imageReference": {
                "publisher": v.image.publisher, "offer": v.image.offer, "sku": v.image.sku,
                "version": v.image.version, "exactVersion": v.image.exact_version,
            },
            "osDisk": {
                "osType": v.image.os_type,
                "name": v.os_disk.name,
                "createOption": "FromImage",
                "caching": v.os_disk.caching,
                "managedDisk": {"storageAccountType": v.os_disk.storage_account_type, "id": disk_id},
                "deleteOption": v.os_disk.delete_option,
                "diskSizeGB": v.os_disk.disk_size_gb,
            },
            "dataDisks": [],
            "diskControllerType": "SCSI",
        },
        "osProfile": os_profile,
        "networkProfile": {"networkInterfaces": v.nics.iter().map(|n| json!({"id": n.id, "properties": {"primary": n.primary, "deleteOption": n.delete_option}})).collect::<Vec<_>>()},
        "provisioningState": "Succeeded",
        "timeCreated": crate::engine::rfc3339(v.time_created),
    });
    if instance_view {
        props["instanceView"] = render_instance_view(v);
    }
    let mut out = json!({
        "name": v.name, "id": v.id, "type": VM_TYPE, "location": v.location, "tags": v.tags,
        "properties": props,
    });
    if !v.zones.is_empty() {
        out["zones"] = json!(v.zones);
    }
    wire::omit_empty_tags(out)
}

/// A NIC as Microsoft.Network renders it, with the VM it is attached to (`virtualMachine`).
pub fn render_nic(state: &State, n: &crate::model::NetworkInterface) -> Value {
    let mut out = network::render_nic(n);
    if let Some(v) = vm_of_nic(state, &n.id) {
        out["properties"]["virtualMachine"] = json!({"id": v.id});
    }
    out
}

/// DELETE a client NIC, refused while a VM uses it (Azure's `NicInUse`).
pub fn delete_nic(state: &State, batch: &mut Batch, caller: &Caller, key: (&str, &str, &str)) -> Result<bool> {
    let id = network::network_id(key.0, key.1, "networkInterfaces", key.2);
    if let Some(v) = vm_of_nic(state, &id) {
        return Err(Error::bad_request(
            "NicInUse",
            format!(
                "Network Interface {id} is used by existing resource {}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.",
                v.id
            ),
        ));
    }
    network::delete_nic(state, batch, caller, key)
}

#[cfg(test)]
mod tests;
