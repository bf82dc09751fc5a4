//! Helpers shared by every resource's wire handling: body parsing with each provider's error,
//! and the rendering rule for `tags`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// Whose words a body's shape error takes: ARM's own envelope (`location`, `tags`) is always
/// ARM's `InvalidRequestContent`; inside `properties`, Key Vault says `BadRequest` ("Bad JSON
/// content ...") and Microsoft.Network `InvalidRequestFormat` ("Cannot parse the request.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Resource Manager itself (resource groups, Microsoft.Authorization).
    Arm,
    KeyVault,
    Network,
}

/// A resource as Azure renders it when it has no tags: without the property. Resource Manager
/// (resource groups), Microsoft.Network and Private DNS leave an empty `tags` out (their recorded
/// answers; `az` then shows null). Key Vault's vaults answer `"tags": {}` and do not use this.
pub fn omit_empty_tags(mut resource: Value) -> Value {
    if resource.get("tags").and_then(Value::as_object).is_some_and(serde_json::Map::is_empty)
        && let Some(o) = resource.as_object_mut()
    {
        o.remove("tags");
    }
    resource
}

/// Parses a JSON body into a resource's input shape; a shape error is ARM's 400
/// `InvalidRequestContent`.
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T> {
    parse_for(Provider::Arm, body)
}

/// Resource Manager's tag limits (Azure's documented "Tag limitations"): at most 50 name/value
/// pairs per resource or group, names at most 512 characters, values at most 256.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_NAME: usize = 512;
pub const MAX_TAG_VALUE: usize = 256;

/// A body's `tags` within Resource Manager's limits, else 400 `InvalidTag` (vaultlink's code and
/// wording; Azure's answer for these is not captured).
pub fn check_tags(body: &Value) -> Result<()> {
    let Some(tags) = body.get("tags").and_then(Value::as_object) else { return Ok(()) };
    if tags.len() > MAX_TAGS {
        return Err(Error::bad_request(
            "InvalidTag",
            format!("The resource has {} tags; at most {MAX_TAGS} tag name/value pairs are allowed.", tags.len()),
        ));
    }
    for (name, value) in tags {
        if name.chars().count() > MAX_TAG_NAME {
            return Err(Error::bad_request(
                "InvalidTag",
                format!("A tag name is longer than {MAX_TAG_NAME} characters."),
            ));
        }
        if value.as_str().is_some_and(|v| v.chars().count() > MAX_TAG_VALUE) {
            return Err(Error::bad_request(
                "InvalidTag",
                format!(
                    "The value of tag '{}' is longer than {MAX_TAG_VALUE} characters.",
                    name.chars().take(64).collect::<String>()
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a JSON body for `provider`'s resource; a shape error is worded as that provider words it.
pub fn parse_for<T: DeserializeOwned>(provider: Provider, body: Value) -> Result<T> {
    check_tags(&body)?;
    let envelope_ok = body.is_object()
        && body.get("location").is_none_or(Value::is_string)
        && body.get("tags").is_none_or(|t| t.as_object().is_some_and(|m| m.values().all(Value::is_string)));
    serde_json::from_value(body).map_err(|e| {
        let detail = e.to_string();
        let detail = detail.trim_matches(|c| c == '\'' || c == '.');
        match provider {
            Provider::KeyVault if envelope_ok => {
                Error::bad_request("BadRequest", format!("Bad JSON content found in the request. {detail}"))
            }
            Provider::Network if envelope_ok => {
                Error::bad_request("InvalidRequestFormat", format!("Cannot parse the request. {detail}"))
            }
            _ => Error::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: '{e}'."),
            ),
        }
    })
}
