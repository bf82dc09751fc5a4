//! What a region offers a virtual machine: the platform images `az vm create --image ALIAS`
//! names (az's own alias list), each with the one version vaultlink publishes, and the VM sizes.
//! Azure's catalogue is thousands of images; these are the ones az knows by alias
//! (docs/behaviour.md, "Virtual machines").

use serde_json::{Value, json};

/// One platform image: `publisher:offer:sku`, its OS and its one published version.
pub struct Image {
    pub publisher: &'static str,
    pub offer: &'static str,
    pub sku: &'static str,
    pub os: &'static str,
    /// `V1` or `V2`.
    pub generation: &'static str,
    pub architecture: &'static str,
    pub version: &'static str,
}

const fn linux(offer: (&'static str, &'static str, &'static str), generation: &'static str) -> Image {
    Image {
        publisher: offer.0,
        offer: offer.1,
        sku: offer.2,
        os: "Linux",
        generation,
        architecture: "x64",
        version: "1.0.20261101",
    }
}

const fn windows(sku: &'static str, generation: &'static str) -> Image {
    Image {
        publisher: "MicrosoftWindowsServer",
        offer: "WindowsServer",
        sku,
        os: "Windows",
        generation,
        architecture: "x64",
        version: "20348.2026.261101",
    }
}

/// The images behind az 2.91's aliases (`az vm image list` without `--all`).
pub const IMAGES: &[Image] = &[
    Image { architecture: "Arm64", ..linux(("microsoftazurelinux", "azurelinux-4", "4-arm64"), "V2") },
    linux(("microsoftazurelinux", "azurelinux-4", "4"), "V2"),
    linux(("microsoftazurelinux", "azurelinux-4", "4-gen1"), "V1"),
    linux(("OpenLogic", "CentOS", "8_5-gen2"), "V2"),
    linux(("Debian", "debian-11", "11-backports-gen2"), "V2"),
    linux(("kinvolk", "flatcar-container-linux-free", "stable-gen2"), "V2"),
    linux(("SUSE", "openSUSE-leap-15-4", "gen2"), "V2"),
    linux(("RedHat", "RHEL", "8-lvm-gen2"), "V2"),
    linux(("SUSE", "sles-15-sp3", "gen2"), "V2"),
    linux(("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"), "V2"),
    windows("2022-datacenter-g2", "V2"),
    windows("2022-datacenter-azure-edition-core", "V2"),
    windows("2019-datacenter-gensecond", "V2"),
    windows("2016-datacenter-gensecond", "V2"),
    windows("2012-R2-Datacenter", "V1"),
    windows("2012-Datacenter", "V1"),
];

/// The image `publisher:offer:sku` names, by any casing.
pub fn image(publisher: &str, offer: &str, sku: &str) -> Option<&'static Image> {
    IMAGES.iter().find(|i| {
        i.publisher.eq_ignore_ascii_case(publisher)
            && i.offer.eq_ignore_ascii_case(offer)
            && i.sku.eq_ignore_ascii_case(sku)
    })
}

/// The images of a publisher, narrowed to an offer and a sku when given (any casing).
pub fn matching(publisher: &str, offer: Option<&str>, sku: Option<&str>) -> Vec<&'static Image> {
    IMAGES
        .iter()
        .filter(|i| {
            i.publisher.eq_ignore_ascii_case(publisher)
                && offer.is_none_or(|o| i.offer.eq_ignore_ascii_case(o))
                && sku.is_none_or(|s| i.sku.eq_ignore_ascii_case(s))
        })
        .collect()
}

/// `.../publishers/{p}/artifacttypes/vmimage/offers/{o}/skus/{s}/versions/{v}` as Compute
/// renders one image version.
pub fn render_version(sub: &str, location: &str, i: &Image) -> Value {
    json!({
        "id": format!(
            "/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/{location}/Publishers/{}/ArtifactTypes/VMImage/Offers/{}/Skus/{}/Versions/{}",
            i.publisher, i.offer, i.sku, i.version
        ),
        "name": i.version,
        "location": location,
        "properties": {
            "hyperVGeneration": i.generation,
            "architecture": i.architecture,
            "replicaType": "Unmanaged",
            "disallowed": {"vmDiskType": "Unmanaged"},
            "automaticOSUpgradeProperties": {"automaticOSUpgradeSupported": false},
            "imageDeprecationStatus": {"imageState": "Active"},
            "features": [{"name": "IsAcceleratedNetworkSupported", "value": "True"}, {"name": "DiskControllerTypes", "value": "SCSI, NVMe"}],
            "osDiskImage": {"operatingSystem": i.os, "sizeInGb": if i.os == "Windows" { 127 } else { 30 }},
            "dataDiskImages": [],
        },
    })
}

/// One VM size: name, cores, memory (MB), data disks, OS disk (MB), resource disk (MB).
pub struct Size(pub &'static str, pub u32, pub u32, pub u32);

impl Size {
    pub fn name(&self) -> &'static str {
        self.0
    }
}

/// The sizes every region offers here (a common subset of Azure's; docs/behaviour.md).
pub const SIZES: &[Size] = &[
    Size("Standard_B1s", 1, 1024, 2),
    Size("Standard_B1ms", 1, 2048, 2),
    Size("Standard_B2s", 2, 4096, 4),
    Size("Standard_B2ms", 2, 8192, 4),
    Size("Standard_DS1_v2", 1, 3584, 4),
    Size("Standard_DS2_v2", 2, 7168, 8),
    Size("Standard_D2s_v3", 2, 8192, 4),
    Size("Standard_D4s_v3", 4, 16384, 8),
    Size("Standard_D2s_v5", 2, 8192, 4),
    Size("Standard_D4s_v5", 4, 16384, 8),
    Size("Standard_D2as_v5", 2, 8192, 4),
    Size("Standard_E2s_v5", 2, 16384, 4),
    Size("Standard_F2s_v2", 2, 4096, 4),
];

pub fn size(name: &str) -> Option<&'static Size> {
    SIZES.iter().find(|s| s.0.eq_ignore_ascii_case(name))
}

/// `GET .../locations/{l}/vmSizes` as Compute renders one size.
pub fn render_size(s: &Size) -> Value {
    json!({
        "name": s.0,
        "numberOfCores": s.1,
        "memoryInMB": s.2,
        "maxDataDiskCount": s.3,
        "osDiskSizeInMB": 1_047_552,
        "resourceDiskSizeInMB": 0,
    })
}
