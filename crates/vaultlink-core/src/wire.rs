//! Helpers shared by every resource's wire handling: body parsing with ARM's error.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// Parses a JSON body into a resource's input shape; a shape error is ARM's 400
/// `InvalidRequestContent`.
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T> {
    serde_json::from_value(body).map_err(|e| {
        Error::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}
