//! api-versions: the versions Azure has published for each Resource Manager namespace vaultlink
//! serves and for the Key Vault data plane, and the one policy over them.
//!
//! - a missing or malformed version is refused, as Azure refuses it;
//! - a version older than the oldest published is refused (`NoRegisteredProviderFound` on ARM,
//!   `BadParameter` on the data plane);
//! - a well-formed version newer than the newest known is served as the newest known, and the log
//!   says so once per version, so a client released after this vaultlink is never locked out;
//! - between the oldest and the newest, the data plane (whose published list below is complete)
//!   refuses a version it never published, as Azure does; Resource Manager serves it as asked,
//!   because the namespaces' lists here come from the specs' folders and SDK packages and may miss
//!   a version a real client sends (docs/behaviour.md, "api-versions").
//!
//! The tables are the published versions, oldest first, from Azure's REST API specs
//! (azure-rest-api-specs folder names) and the management SDKs built from them (the versions their
//! releases send, through azure-mgmt-keyvault 14.1.0 and azure-mgmt-network 33.1.0).

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};

use crate::{Error, Result};

/// Published api-versions per Resource Manager namespace (lower case), oldest first.
/// `microsoft.resources` stands for Resource Manager's own paths (subscriptions, resource groups,
/// providers, locations, tenants). Microsoft.Network includes the Private DNS types' versions.
#[rustfmt::skip]
pub const ARM: &[(&str, &[&str])] = &[
    ("microsoft.resources", &[
        "2014-04-01-preview", "2014-04-01", "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01",
        "2016-07-01", "2016-09-01", "2017-05-10", "2017-08-01", "2018-02-01", "2018-05-01", "2018-06-01",
        "2019-03-01", "2019-05-01", "2019-05-10", "2019-06-01", "2019-07-01", "2019-08-01", "2019-10-01",
        "2019-11-01", "2020-01-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01",
        "2022-01-01", "2022-09-01", "2022-12-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01",
        "2025-03-01", "2025-04-01",
    ]),
    ("microsoft.keyvault", &[
        "2015-06-01", "2016-10-01", "2018-02-14-preview", "2018-02-14", "2019-09-01", "2020-04-01-preview",
        "2021-04-01-preview", "2021-06-01-preview", "2021-10-01", "2021-11-01-preview", "2022-02-01-preview",
        "2022-07-01", "2022-11-01", "2023-02-01", "2023-07-01", "2023-08-01-preview", "2024-04-01-preview",
        "2024-11-01", "2024-12-01-preview", "2025-05-01", "2026-02-01", "2026-03-01-preview",
        "2026-04-01-preview", "2026-04-01", "2026-05-15",
    ]),
    ("microsoft.network", &[
        "2015-06-15", "2016-03-30", "2016-06-01", "2016-09-01", "2016-12-01", "2017-03-01", "2017-06-01",
        "2017-08-01", "2017-09-01", "2017-10-01", "2017-11-01", "2018-01-01", "2018-02-01", "2018-04-01",
        "2018-06-01", "2018-07-01", "2018-08-01", "2018-09-01", "2018-10-01", "2018-11-01", "2018-12-01",
        "2019-02-01", "2019-04-01", "2019-06-01", "2019-07-01", "2019-08-01", "2019-09-01", "2019-11-01",
        "2019-12-01", "2020-01-01", "2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01", "2020-07-01",
        "2020-08-01", "2020-11-01", "2021-02-01-preview", "2021-02-01", "2021-03-01", "2021-05-01",
        "2021-08-01", "2022-01-01", "2022-05-01", "2022-07-01", "2022-09-01", "2022-11-01", "2023-02-01",
        "2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01",
        "2024-05-01", "2024-06-01", "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01",
        "2025-07-01", "2025-09-01", "2026-01-01", "2026-03-01",
    ]),
    ("microsoft.compute", &[
        "2015-06-15", "2016-03-30", "2016-04-30-preview", "2017-03-30", "2017-12-01", "2018-04-01",
        "2018-06-01", "2018-10-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01",
        "2021-03-01", "2021-04-01", "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01",
        "2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01",
        "2025-11-01", "2026-04-01",
    ]),
    ("microsoft.authorization", &[
        "2015-06-01", "2015-07-01", "2017-05-01", "2018-01-01-preview", "2018-05-01-preview",
        "2018-07-01-preview", "2018-09-01-preview", "2019-08-01-preview", "2020-03-01-preview",
        "2020-04-01-preview", "2020-08-01-preview", "2020-10-01-preview", "2020-10-01", "2021-01-01-preview",
        "2021-03-01-preview", "2021-07-01-preview", "2021-12-01-preview", "2022-04-01-preview", "2022-04-01",
        "2022-05-01-preview", "2022-08-01-preview", "2024-09-01-preview", "2025-01-01",
    ]),
];

/// The Key Vault data plane's published api-versions, oldest first (the SDKs' 7.x line, then the
/// dated line from 2025).
#[rustfmt::skip]
pub const DATA_PLANE: &[&str] = &[
    "2015-06-01", "2016-10-01", "7.0", "7.1", "7.2-preview", "7.2", "7.3-preview", "7.3", "7.4-preview.1",
    "7.4", "7.5-preview.1", "7.5", "7.6-preview.1", "7.6-preview.2", "7.6", "2025-06-01-preview",
    "2025-07-01", "2026-01-01-preview", "2026-03-01-preview", "2026-04-01",
];

/// The published versions of `namespace` (lower case), oldest first; empty for a namespace with
/// no table.
pub fn arm_versions(namespace: &str) -> &'static [&'static str] {
    ARM.iter().find(|(n, _)| *n == namespace).map_or(&[], |(_, list)| *list)
}

/// The newest data-plane version (what its error messages recommend).
pub fn data_plane_latest() -> &'static str {
    DATA_PLANE.last().copied().unwrap_or_default()
}

/// The longest api-version an error message repeats whole (the longest published one is 25
/// characters); a longer one is refused like any malformed version, shown cut to this length.
pub const MAX_API_VERSION_SHOWN: usize = 32;

/// `v` as an error message repeats it: at most [`MAX_API_VERSION_SHOWN`] characters.
fn shown(v: &str) -> std::borrow::Cow<'_, str> {
    match v.char_indices().nth(MAX_API_VERSION_SHOWN) {
        Some((cut, _)) => format!("{}...", &v[..cut]).into(),
        None => v.into(),
    }
}

/// The version a Resource Manager request to `namespace` (lower case) is served as.
pub fn arm(namespace: &str, version: Option<&str>) -> Result<String> {
    let Some(v) = version else {
        return Err(Error::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let published = arm_versions(namespace);
    let Some(key) = dated(v) else {
        let newest_first: Vec<_> = published.iter().rev().copied().collect();
        return Err(Error::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{}' is invalid. The supported versions are '{}'.",
                shown(v),
                newest_first.join(",")
            ),
        ));
    };
    let (Some(oldest), Some(newest)) = (published.first(), published.last()) else {
        return Ok(v.to_string());
    };
    if key < dated(oldest).unwrap_or_default() {
        return Err(Error::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for API version '{v}' in namespace '{namespace}'. The supported api-versions are '{}'.",
                published.join(", ")
            ),
        ));
    }
    if key > dated(newest).unwrap_or_default() {
        note_newer(namespace, v, newest);
        return Ok((*newest).to_string());
    }
    Ok(v.to_string())
}

/// The version a data-plane request is served as (`BadParameter` refusals in the data plane's
/// words).
pub fn data_plane(version: Option<&str>) -> Result<&'static str> {
    let latest = data_plane_latest();
    let v = match version {
        None | Some("") => {
            return Err(Error::bad_parameter(format!(
                "The request is missing the api-version query parameter. There is no default api-version; specify one, e.g. api-version={latest}."
            )));
        }
        Some(v) => v,
    };
    if let Some(known) = DATA_PLANE.iter().find(|k| **k == v) {
        return Ok(known);
    }
    if dated(v).is_some_and(|key| key > dated(latest).unwrap_or_default()) {
        note_newer("the Key Vault data plane", v, latest);
        return Ok(latest);
    }
    Err(Error::bad_parameter(format!(
        "The specified version ({}) is not recognized. Consider using the latest supported version ({latest}).",
        shown(v)
    )))
}

/// A dated version's sort key (`YYYY-MM-DD`, then a stable version after its own previews), or
/// `None` when `v` is not a well-formed dated version.
fn dated(v: &str) -> Option<(&str, u8)> {
    let date = v.get(..10)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    let (month, day) = (&date[5..7], &date[8..10]);
    if !("01"..="12").contains(&month) || !("01"..="31").contains(&day) {
        return None;
    }
    match &v[10..] {
        "" => Some((date, 1)),
        "-preview" | "-privatepreview" | "-beta" | "-alpha" => Some((date, 0)),
        _ => None,
    }
}

/// Logs, once per (surface, version), that a version newer than vaultlink knows was served as
/// the newest known. At most `MAX_NOTED` versions are remembered (a client sends one or two; a
/// caller sending many distinct dates cannot grow memory without bound).
fn note_newer(surface: &str, asked: &str, served: &str) {
    const MAX_NOTED: usize = 64;
    static NOTED: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let mut noted = NOTED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    let key = format!("{surface} {asked}");
    if noted.len() < MAX_NOTED && noted.insert(key) {
        tracing::info!(surface, asked, served, "api-version newer than vaultlink knows: served as the newest known");
    }
}

#[cfg(test)]
mod tests;
