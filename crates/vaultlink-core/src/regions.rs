//! Azure's public-cloud regions: the one table of what `GET /subscriptions/{s}/locations`
//! lists, which locations resources may be created in, each region's pair, and the short code and
//! shared public address its vaults answer with in DNS (`dns::region_code`,
//! `dns::region_public_address`).
//!
//! Names, display names, geographies, physical locations, coordinates and pairs are Azure's
//! (`az account list-locations`, the "Azure region pairs" documentation); the EUAP (early
//! updates access program) regions are there because the CLI's own tests use them. The short
//! codes other than the five observed (eus, weu, cca, sea, ncu; azure-dns-details.md §2.3) and
//! the address octets are vaultlink's, fixed per region so that an address never moves when a
//! region is added.

use serde_json::{Value, json};

/// A region resources can be created in.
pub struct Region {
    pub name: &'static str,
    pub display_name: &'static str,
    /// ARM's `metadata.geographyGroup` ("US", "Europe", ...).
    pub geography_group: &'static str,
    /// ARM's `metadata.geography` ("United States", ...).
    pub geography: &'static str,
    pub physical_location: &'static str,
    pub paired: &'static [&'static str],
    pub latitude: &'static str,
    pub longitude: &'static str,
    /// `regionCategory`: Recommended (true) or Other.
    pub recommended: bool,
    /// The code in `data-prod-<code>.vaultcore.azure.net`.
    pub code: &'static str,
    /// The third octet of the region's shared public address, `198.18.<octet>.10`.
    pub octet: u8,
}

macro_rules! regions {
    ($(($name:literal, $display:literal, $group:literal, $geo:literal, $place:literal, [$($pair:literal),*], $lat:literal, $long:literal, $rec:literal, $code:literal, $octet:literal)),* $(,)?) => {
        &[$(Region {
            name: $name, display_name: $display, geography_group: $group, geography: $geo,
            physical_location: $place, paired: &[$($pair),*], latitude: $lat, longitude: $long,
            recommended: $rec, code: $code, octet: $octet,
        }),*]
    };
}

/// Every physical region, in the order Azure lists them (recommended first).
#[rustfmt::skip]
pub const PHYSICAL: &[Region] = regions![
    ("eastus", "East US", "US", "United States", "Virginia", ["westus"], "37.3719", "-79.8164", true, "eus", 1),
    ("westus2", "West US 2", "US", "United States", "Washington", ["westcentralus"], "47.233", "-119.852", true, "wus2", 4),
    ("australiaeast", "Australia East", "Asia Pacific", "Australia", "New South Wales", ["australiasoutheast"], "-33.86", "151.2094", true, "aue", 36),
    ("southeastasia", "Southeast Asia", "Asia Pacific", "Asia Pacific", "Singapore", ["eastasia"], "1.283", "103.833", true, "sea", 31),
    ("northeurope", "North Europe", "Europe", "Europe", "Ireland", ["westeurope"], "53.3478", "-6.2597", true, "neu", 13),
    ("swedencentral", "Sweden Central", "Europe", "Sweden", "Gävle", ["swedensouth"], "60.67488", "17.14127", true, "sdc", 21),
    ("uksouth", "UK South", "Europe", "United Kingdom", "London", ["ukwest"], "50.941", "-0.799", true, "uks", 15),
    ("westeurope", "West Europe", "Europe", "Europe", "Netherlands", ["northeurope"], "52.3667", "4.9", true, "weu", 14),
    ("centralus", "Central US", "US", "United States", "Iowa", ["eastus2"], "41.5908", "-93.6208", true, "cus", 6),
    ("southafricanorth", "South Africa North", "Africa", "South Africa", "Johannesburg", ["southafricawest"], "-25.73134", "28.21837", true, "san", 26),
    ("centralindia", "Central India", "Asia Pacific", "India", "Pune", ["southindia"], "18.5822", "73.9197", true, "inc", 27),
    ("eastasia", "East Asia", "Asia Pacific", "Asia Pacific", "Hong Kong", ["southeastasia"], "22.267", "114.188", true, "ea", 30),
    ("indonesiacentral", "Indonesia Central", "Asia Pacific", "Indonesia", "Jakarta", [], "-6.2", "106.816666", true, "idc", 43),
    ("japaneast", "Japan East", "Asia Pacific", "Japan", "Tokyo, Saitama", ["japanwest"], "35.68", "139.77", true, "jpe", 32),
    ("japanwest", "Japan West", "Asia Pacific", "Japan", "Osaka", ["japaneast"], "34.6939", "135.5022", true, "jpw", 33),
    ("koreacentral", "Korea Central", "Asia Pacific", "Korea", "Seoul", ["koreasouth"], "37.5665", "126.978", true, "krc", 34),
    ("malaysiawest", "Malaysia West", "Asia Pacific", "Malaysia", "Kuala Lumpur", [], "3.1569", "101.7123", true, "myw", 44),
    ("newzealandnorth", "New Zealand North", "Asia Pacific", "New Zealand", "Auckland", [], "-36.84853", "174.76349", true, "nzn", 42),
    ("canadacentral", "Canada Central", "Canada", "Canada", "Toronto", ["canadaeast"], "43.653", "-79.383", true, "cca", 10),
    ("austriaeast", "Austria East", "Europe", "Austria", "Vienna", [], "48.2082", "16.3738", true, "ate", 45),
    ("belgiumcentral", "Belgium Central", "Europe", "Belgium", "Brussels", [], "50.8503", "4.3517", true, "bec", 46),
    ("francecentral", "France Central", "Europe", "France", "Paris", ["francesouth"], "46.3772", "2.373", true, "frc", 17),
    ("germanywestcentral", "Germany West Central", "Europe", "Germany", "Frankfurt", ["germanynorth"], "50.110924", "8.682127", true, "gwc", 18),
    ("italynorth", "Italy North", "Europe", "Italy", "Milan", [], "45.46888", "9.18109", true, "itn", 23),
    ("norwayeast", "Norway East", "Europe", "Norway", "Norway", ["norwaywest"], "59.913868", "10.752245", true, "nwe", 20),
    ("polandcentral", "Poland Central", "Europe", "Poland", "Warsaw", [], "52.23334", "21.01666", true, "plc", 22),
    ("spaincentral", "Spain Central", "Europe", "Spain", "Madrid", [], "40.4259", "-3.4209", true, "spc", 24),
    ("switzerlandnorth", "Switzerland North", "Europe", "Switzerland", "Zurich", ["switzerlandwest"], "47.451542", "8.564572", true, "szn", 19),
    ("mexicocentral", "Mexico Central", "Mexico", "Mexico", "Querétaro State", [], "20.588818", "-100.389888", true, "mxc", 41),
    ("uaenorth", "UAE North", "Middle East", "UAE", "Dubai", ["uaecentral"], "25.266666", "55.316666", true, "uan", 25),
    ("brazilsouth", "Brazil South", "South America", "Brazil", "Sao Paulo State", ["southcentralus"], "-23.55", "-46.633", true, "brs", 12),
    ("chilecentral", "Chile Central", "South America", "Chile", "Santiago", [], "-33.4489", "-70.6693", true, "clc", 47),
    ("eastus2euap", "East US 2 EUAP", "US", "United States", "", ["centraluseuap"], "36.6681", "-78.3889", false, "eus2e", 48),
    ("israelcentral", "Israel Central", "Middle East", "Israel", "Israel", [], "31.2655698", "33.4506633", true, "ilc", 39),
    ("qatarcentral", "Qatar Central", "Middle East", "Qatar", "Doha", [], "25.551462", "51.439327", true, "qac", 40),
    ("eastus2", "East US 2", "US", "United States", "Virginia", ["centralus"], "36.6681", "-78.3889", true, "eus2", 2),
    ("southcentralus", "South Central US", "US", "United States", "Texas", ["northcentralus"], "29.4167", "-98.5", true, "scu", 8),
    ("westus3", "West US 3", "US", "United States", "Phoenix", ["eastus"], "33.448376", "-112.074036", true, "wus3", 5),
    ("northcentralus", "North Central US", "US", "United States", "Illinois", ["southcentralus"], "41.8819", "-87.6278", false, "ncu", 7),
    ("westus", "West US", "US", "United States", "California", ["eastus"], "37.783", "-122.417", false, "wus", 3),
    ("jioindiawest", "Jio India West", "Asia Pacific", "India", "Jamnagar", ["jioindiacentral"], "22.470701", "70.05773", false, "jiw", 50),
    ("centraluseuap", "Central US EUAP", "US", "United States", "", ["eastus2euap"], "41.5908", "-93.6208", false, "cuse", 51),
    ("westcentralus", "West Central US", "US", "United States", "Wyoming", ["westus2"], "40.89", "-110.234", false, "wcu", 9),
    ("southafricawest", "South Africa West", "Africa", "South Africa", "Cape Town", ["southafricanorth"], "-34.075691", "18.843266", false, "saw", 52),
    ("australiacentral", "Australia Central", "Asia Pacific", "Australia", "Canberra", ["australiacentral2"], "-35.3075", "149.1244", false, "acl", 38),
    ("australiacentral2", "Australia Central 2", "Asia Pacific", "Australia", "Canberra", ["australiacentral"], "-35.3075", "149.1244", false, "acl2", 53),
    ("australiasoutheast", "Australia Southeast", "Asia Pacific", "Australia", "Victoria", ["australiaeast"], "-37.8136", "144.9631", false, "ase", 37),
    ("jioindiacentral", "Jio India Central", "Asia Pacific", "India", "Nagpur", ["jioindiawest"], "21.146633", "79.08886", false, "jic", 54),
    ("koreasouth", "Korea South", "Asia Pacific", "Korea", "Busan", ["koreacentral"], "35.1796", "129.0756", false, "krs", 35),
    ("southindia", "South India", "Asia Pacific", "India", "Chennai", ["centralindia"], "12.9822", "80.1636", false, "ins", 28),
    ("westindia", "West India", "Asia Pacific", "India", "Mumbai", ["southindia"], "19.088", "72.868", false, "inw", 29),
    ("canadaeast", "Canada East", "Canada", "Canada", "Quebec", ["canadacentral"], "46.817", "-71.217", false, "cae", 11),
    ("francesouth", "France South", "Europe", "France", "Marseille", ["francecentral"], "43.8345", "2.1972", false, "frs", 55),
    ("germanynorth", "Germany North", "Europe", "Germany", "Berlin", ["germanywestcentral"], "53.073635", "8.806422", false, "gn", 56),
    ("norwaywest", "Norway West", "Europe", "Norway", "Norway", ["norwayeast"], "58.969975", "5.733107", false, "nww", 57),
    ("switzerlandwest", "Switzerland West", "Europe", "Switzerland", "Geneva", ["switzerlandnorth"], "46.204391", "6.143158", false, "szw", 58),
    ("ukwest", "UK West", "Europe", "United Kingdom", "Cardiff", ["uksouth"], "53.427", "-3.084", false, "ukw", 16),
    ("uaecentral", "UAE Central", "Middle East", "UAE", "Abu Dhabi", ["uaenorth"], "24.466667", "54.366669", false, "uac", 59),
    ("brazilsoutheast", "Brazil Southeast", "South America", "Brazil", "Rio", ["brazilsouth"], "-22.90278", "-43.2075", false, "bse", 60),
    ("swedensouth", "Sweden South", "Europe", "Sweden", "Malmo", ["swedencentral"], "55.60536", "13.00073", false, "sds", 61),
];

/// Geographies Azure lists as logical regions (`regionType: Logical`): listed, but no resource
/// lives in one.
#[rustfmt::skip]
pub const LOGICAL: &[(&str, &str)] = &[
    ("asia", "Asia"), ("asiapacific", "Asia Pacific"), ("australia", "Australia"), ("brazil", "Brazil"),
    ("canada", "Canada"), ("europe", "Europe"), ("france", "France"), ("germany", "Germany"),
    ("global", "Global"), ("india", "India"), ("indonesia", "Indonesia"), ("israel", "Israel"),
    ("italy", "Italy"), ("japan", "Japan"), ("korea", "Korea"), ("malaysia", "Malaysia"),
    ("mexico", "Mexico"), ("newzealand", "New Zealand"), ("norway", "Norway"), ("poland", "Poland"),
    ("qatar", "Qatar"), ("singapore", "Singapore"), ("southafrica", "South Africa"), ("spain", "Spain"),
    ("sweden", "Sweden"), ("switzerland", "Switzerland"), ("taiwan", "Taiwan"), ("uae", "United Arab Emirates"),
    ("uk", "United Kingdom"), ("unitedstates", "United States"), ("unitedstateseuap", "United States EUAP"),
];

/// The physical region named `name` (lower case, no spaces).
pub fn physical(name: &str) -> Option<&'static Region> {
    PHYSICAL.iter().find(|r| r.name == name)
}

/// The names of the regions resources may be created in.
pub fn names() -> impl Iterator<Item = &'static str> {
    PHYSICAL.iter().map(|r| r.name)
}

/// `GET /subscriptions/{sub}/locations`: every region, as ARM renders it.
pub fn render_all(sub: &str) -> Vec<Value> {
    let id = |name: &str| format!("/subscriptions/{sub}/locations/{name}");
    let physical = PHYSICAL.iter().map(|r| {
        json!({
            "id": id(r.name),
            "name": r.name,
            "type": "Region",
            "displayName": r.display_name,
            "regionalDisplayName": format!("({}) {}", r.geography_group, r.display_name),
            "metadata": {
                "regionType": "Physical",
                "regionCategory": if r.recommended { "Recommended" } else { "Other" },
                "geography": r.geography,
                "geographyGroup": r.geography_group,
                "longitude": r.longitude,
                "latitude": r.latitude,
                "physicalLocation": r.physical_location,
                "pairedRegion": r.paired.iter().map(|p| json!({"name": p, "id": id(p)})).collect::<Vec<_>>(),
            },
        })
    });
    let logical = LOGICAL.iter().map(|(name, display)| {
        json!({
            "id": id(name),
            "name": name,
            "type": "Region",
            "displayName": display,
            "regionalDisplayName": display,
            "metadata": {"regionType": "Logical", "regionCategory": "Other"},
        })
    });
    physical.chain(logical).collect()
}

#[cfg(test)]
mod tests;
