//! The functions that need the deployment's world, one line each in [`WORLD`]: where it runs
//! (`resourceGroup`, `subscription`, `tenant`, `deployment`, `environment`), resource ids
//! (`resourceId`, `subscriptionResourceId`, `tenantResourceId`, `extensionResourceId`,
//! `resourceInfo`), the resources themselves through the [`Host`] (`reference`, `list*`), and
//! the two that only parameter defaults may call (`utcNow`, `newGuid`). [`Env`] is the
//! [`Context`] every template evaluation runs in.

use serde_json::{Map, Value, json};

use super::eval::{Context, DEFERRED};
use super::{Host, Scope, TemplateError, arity, invalid, type_name};
use crate::error::{Error, Kind};

type R = Result<Value, TemplateError>;
type WorldFn = fn(&Env<'_>, &[Value]) -> R;

#[rustfmt::skip]
static WORLD: &[(&str, WorldFn)] = &[
    ("resourceGroup", |e, a| { no_args("resourceGroup", a)?; e.resource_group() }),
    ("subscription", |e, a| { no_args("subscription", a)?; Ok(json!({"id": format!("/subscriptions/{}", e.scope.subscription_id), "subscriptionId": e.scope.subscription_id, "tenantId": e.scope.tenant_id, "displayName": e.scope.subscription_display_name})) }),
    ("tenant", |e, a| { no_args("tenant", a)?; Ok(json!({"countryCode": "US", "displayName": e.scope.tenant_display_name, "id": format!("/tenants/{}", e.scope.tenant_id), "tenantId": e.scope.tenant_id})) }),
    ("deployment", |e, a| { no_args("deployment", a)?; Ok(e.deployment.clone()) }),
    ("environment", |_, a| { no_args("environment", a)?; Ok(environment()) }),
    ("resourceId", |e, a| resource_id_fn(e, a)),
    ("subscriptionResourceId", |e, a| subscription_resource_id(e, a)),
    ("tenantResourceId", |_, a| { let (t, names) = type_and_names("tenantResourceId", a)?; Ok(json!(build_id("", t, &names, "tenantResourceId")?)) }),
    ("extensionResourceId", |_, a| extension_resource_id(a)),
    ("resourceInfo", |e, a| resource_info(e, a)),
    ("reference", |e, a| reference(e, a)),
    ("utcNow", |e, a| utc_now(e, a)),
    ("newGuid", |e, a| { no_args("newGuid", a)?; e.only_in_defaults("newGuid")?; Ok(json!(uuid::Uuid::new_v4().to_string())) }),
];

/// Where in a template an expression is, which decides the functions it may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A parameter's default value: `utcNow`/`newGuid` allowed, no `reference`.
    Defaults,
    /// Variables, and a resource's name, type, copy count and `dependsOn`: no `reference`.
    Static,
    /// A resource's condition and body, outputs: everything but `utcNow`/`newGuid`.
    Deploy,
}

/// The template's parameters and variables, as a deployment evaluates them.
pub(crate) trait Source {
    fn parameter(&self, name: &str) -> R;
    fn variable(&self, name: &str) -> R;
}

/// A resource of the template as `reference('name')`, `dependsOn` and `resourceInfo` find it.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub symbolic: Option<String>,
    pub name: String,
    pub resource_type: String,
    pub id: String,
    pub api_version: String,
    pub copy_name: Option<String>,
}

impl Declared {
    /// Whether a reference or dependency by name (`vault`, `Microsoft.KeyVault/vaults/vault`,
    /// the symbolic name, or the id) names this resource.
    pub(crate) fn named(&self, s: &str) -> bool {
        self.symbolic.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(s))
            || self.name.eq_ignore_ascii_case(s)
            || same_id(&self.id, s)
            || s.len() == self.resource_type.len() + 1 + self.name.len()
                && s.get(..self.resource_type.len()).is_some_and(|t| t.eq_ignore_ascii_case(&self.resource_type))
                && s.get(self.resource_type.len() + 1..).is_some_and(|n| n.eq_ignore_ascii_case(&self.name))
    }
}

/// Whether two resource ids name the same resource: case-insensitively, a resource group's id
/// written either way (`/resourceGroups/g` or `/providers/Microsoft.Resources/resourceGroups/g`,
/// as `subscriptionResourceId` builds it).
pub(crate) fn same_id(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        s.to_ascii_lowercase().replace("/providers/microsoft.resources/resourcegroups/", "/resourcegroups/")
    }
    a.eq_ignore_ascii_case(b) || (a.starts_with('/') && b.starts_with('/') && norm(a) == norm(b))
}

/// The context of every template evaluation.
pub(crate) struct Env<'a> {
    pub scope: &'a Scope,
    pub source: &'a dyn Source,
    pub resources: &'a [Declared],
    pub host: Option<&'a dyn Host>,
    pub phase: Phase,
    pub what_if: bool,
    pub deployment: &'a Value,
}

impl Context for Env<'_> {
    fn parameter(&self, name: &str) -> R {
        self.source.parameter(name)
    }
    fn variable(&self, name: &str) -> R {
        if self.phase == Phase::Defaults {
            return Err(not_expected("variables"));
        }
        self.source.variable(name)
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<R> {
        if let Some((_, f)) = WORLD.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Some(f(self, args));
        }
        if name.len() > 4 && name[..4].eq_ignore_ascii_case("list") && !name.contains('.') {
            return Some(list(self, name, args));
        }
        None
    }
    fn what_if(&self) -> bool {
        self.what_if
    }
}

fn not_expected(function: &str) -> TemplateError {
    invalid(format!(
        "The template function '{function}' is not expected at this location. Please see https://aka.ms/arm-functions for usage details."
    ))
}

fn no_args(name: &str, a: &[Value]) -> Result<(), TemplateError> {
    if a.is_empty() { Ok(()) } else { Err(arity(name, "0")) }
}

impl Env<'_> {
    fn only_in_defaults(&self, function: &str) -> Result<(), TemplateError> {
        if self.phase == Phase::Defaults {
            return Ok(());
        }
        Err(invalid(format!(
            "The template function '{function}' is not expected at this location. The function can only be used with parameter default value. Please see https://aka.ms/arm-functions for usage details."
        )))
    }

    fn host(&self, function: &str) -> Result<&dyn Host, TemplateError> {
        match (self.phase, self.host) {
            (Phase::Deploy, Some(h)) => Ok(h),
            _ => Err(not_expected(function)),
        }
    }

    fn resource_group(&self) -> R {
        let Some(g) = &self.scope.resource_group else { return Err(not_expected("RESOURCEGROUP")) };
        Ok(json!({
            "id": self.scope.id(),
            "name": g.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": g.location,
            "tags": g.tags,
            "properties": {"provisioningState": "Succeeded"},
        }))
    }

    /// A resource named by a reference's first argument: an id as is, otherwise the template's
    /// resource of that symbolic name, name or `type/name`.
    fn resolve(&self, function: &str, target: &str) -> Result<(String, Option<String>), TemplateError> {
        if target.starts_with('/') {
            let api = self.resources.iter().find(|d| same_id(&d.id, target)).map(|d| d.api_version.clone());
            return Ok((target.to_string(), api));
        }
        self.resources.iter().find(|d| d.named(target)).map(|d| (d.id.clone(), Some(d.api_version.clone()))).ok_or_else(
            || {
                invalid(format!(
                    "The template {function} '{target}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-function-reference for usage details."
                ))
            },
        )
    }

    /// A host's answer; in what-if, a resource that does not exist yet defers the expression.
    fn deferrable(&self, r: R) -> R {
        match r {
            Err(e) if self.what_if && e.kind == Kind::NotFound => Err(Error::new(Kind::NotFound, DEFERRED, e.message)),
            other => other,
        }
    }
}

fn strings<'a>(name: &str, a: &'a [Value]) -> Result<Vec<&'a str>, TemplateError> {
    a.iter()
        .map(|v| {
            v.as_str().ok_or_else(|| {
                invalid(format!(
                    "The template language function '{name}' expects its parameters to be of type 'String'. The provided value is of type '{}'.",
                    type_name(v)
                ))
            })
        })
        .collect()
}

/// The arguments of the `*ResourceId` functions after their scope: the type and the names (a
/// name may itself hold `/`-separated segments).
fn type_and_names<'a>(name: &str, a: &'a [Value]) -> Result<(&'a str, Vec<&'a str>), TemplateError> {
    let s = strings(name, a)?;
    let Some((t, names)) = s.split_first() else { return Err(arity(name, "at least 2")) };
    Ok((t, names.iter().flat_map(|n| n.split('/')).collect()))
}

/// `{prefix}/providers/{namespace}/{type1}/{name1}/{type2}/{name2}...`.
pub(crate) fn build_id(
    prefix: &str,
    resource_type: &str,
    names: &[&str],
    function: &str,
) -> Result<String, TemplateError> {
    let mut segs = resource_type.split('/');
    let namespace = segs.next().unwrap_or_default();
    let types: Vec<&str> = segs.collect();
    if types.is_empty() || types.len() != names.len() || names.iter().any(|n| n.is_empty()) {
        return Err(invalid(format!(
            "Unable to evaluate template language function '{function}': the type '{resource_type}' requires '{}' resource name argument(s). Please see https://aka.ms/arm-resourceid for usage details.",
            types.len().max(1)
        )));
    }
    let mut id = format!("{prefix}/providers/{namespace}");
    for (t, n) in types.iter().zip(names) {
        id.push('/');
        id.push_str(t);
        id.push('/');
        id.push_str(n);
    }
    Ok(id)
}

fn resource_id_fn(e: &Env<'_>, a: &[Value]) -> R {
    let s = strings("resourceId", a)?;
    let t =
        s.iter().position(|x| x.contains('/')).filter(|t| *t <= 2).ok_or_else(|| arity("resourceId", "at least 2"))?;
    let prefix = match &s[..t] {
        [] => e.scope.id(),
        [rg] => format!("/subscriptions/{}/resourceGroups/{rg}", e.scope.subscription_id),
        [sub, rg] => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        _ => unreachable!("t <= 2"),
    };
    let names: Vec<&str> = s[t + 1..].iter().flat_map(|n| n.split('/')).collect();
    Ok(json!(build_id(&prefix, s[t], &names, "resourceId")?))
}

fn subscription_resource_id(e: &Env<'_>, a: &[Value]) -> R {
    let s = strings("subscriptionResourceId", a)?;
    let (sub, rest) = match s.first() {
        Some(first) if !first.contains('/') => (first.to_string(), &a[1..]),
        _ => (e.scope.subscription_id.clone(), a),
    };
    let (t, names) = type_and_names("subscriptionResourceId", rest)?;
    Ok(json!(build_id(&format!("/subscriptions/{sub}"), t, &names, "subscriptionResourceId")?))
}

fn extension_resource_id(a: &[Value]) -> R {
    let s = strings("extensionResourceId", a)?;
    let Some((base, _)) = s.split_first() else { return Err(arity("extensionResourceId", "at least 3")) };
    let (t, names) = type_and_names("extensionResourceId", &a[1..])?;
    Ok(json!(build_id(base.trim_end_matches('/'), t, &names, "extensionResourceId")?))
}

fn resource_info(e: &Env<'_>, a: &[Value]) -> R {
    let [Value::String(target)] = a else { return Err(arity("resourceInfo", "1")) };
    let d = e.resources.iter().find(|d| d.named(target)).ok_or_else(|| {
        invalid(format!(
            "The template resourceInfo '{target}' is not valid: could not find template resource or resource copy with this name."
        ))
    })?;
    Ok(json!({"id": d.id, "name": d.name, "type": d.resource_type, "apiVersion": d.api_version}))
}

/// `reference(idOrName, apiVersion?, 'Full'?)`.
fn reference(e: &Env<'_>, a: &[Value]) -> R {
    let host = e.host("reference")?;
    let s = strings("reference", a)?;
    let (target, api, full) = match s.as_slice() {
        [t] => (*t, None, false),
        [t, v] => (*t, Some(*v), false),
        [t, v, f] => (*t, Some(*v), f.eq_ignore_ascii_case("full")),
        _ => return Err(arity("reference", "1 to 3")),
    };
    let (id, declared_api) = e.resolve("reference", target)?;
    let api = api.map(str::to_string).or(declared_api);
    e.deferrable(host.reference(&id, api.as_deref(), full))
}

/// `listKeys(idOrName, apiVersion, functionValues?)` and every other `list*`.
fn list(e: &Env<'_>, name: &str, a: &[Value]) -> R {
    let host = e.host(name)?;
    let (target, api, body) = match a {
        [Value::String(t), Value::String(v)] => (t, v, None),
        [Value::String(t), Value::String(v), body] => (t, v, Some(body)),
        _ => return Err(arity(name, "2 or 3")),
    };
    let (id, _) = e.resolve(name, target)?;
    e.deferrable(host.list(&id, name, api, body))
}

/// `utcNow(format?)`: .NET's standard `u`, `d`, `o` and custom patterns of `yyyy`, `yy`, `MM`,
/// `M`, `dd`, `d`, `HH`, `H`, `hh`, `mm`, `ss`, `fff...`, `tt`, quoted and other literals.
fn utc_now(e: &Env<'_>, a: &[Value]) -> R {
    e.only_in_defaults("utcNow")?;
    let format = match a {
        [] => "yyyyMMddTHHmmssZ",
        [Value::String(f)] => f.as_str(),
        _ => return Err(arity("utcNow", "0 or 1")),
    };
    Ok(json!(format_time(e.scope.now, format)))
}

pub(crate) fn format_time(t: time::OffsetDateTime, format: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let pattern = match format {
        "u" => "yyyy-MM-dd HH:mm:ssZ",
        "d" => "M/d/yyyy",
        "o" | "O" => "yyyy-MM-ddTHH:mm:ss.fffffffZ",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        other => other,
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|x| **x == c).count();
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        match c {
            'y' if run >= 4 => out.push_str(&format!("{:04}", t.year())),
            'y' => out.push_str(&format!("{:02}", t.year() % 100)),
            'M' if run >= 2 => out.push_str(&format!("{:02}", u8::from(t.month()))),
            'M' => out.push_str(&u8::from(t.month()).to_string()),
            'd' if run >= 2 => out.push_str(&format!("{:02}", t.day())),
            'd' => out.push_str(&t.day().to_string()),
            'H' if run >= 2 => out.push_str(&format!("{:02}", t.hour())),
            'H' => out.push_str(&t.hour().to_string()),
            'h' if run >= 2 => out.push_str(&format!("{hour12:02}")),
            'h' => out.push_str(&hour12.to_string()),
            'm' if run >= 2 => out.push_str(&format!("{:02}", t.minute())),
            'm' => out.push_str(&t.minute().to_string()),
            's' if run >= 2 => out.push_str(&format!("{:02}", t.second())),
            's' => out.push_str(&t.second().to_string()),
            'f' => out.push_str(&format!("{:09}", t.nanosecond())[..run.min(9)]),
            't' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|x| *x == c).map_or(chars.len(), |p| i + 1 + p);
                out.extend(&chars[i + 1..end]);
                i = end + 1;
                continue;
            }
            other => {
                for _ in 0..run {
                    out.push(other);
                }
            }
        }
        i += run;
    }
    out
}

/// `environment()`: Azure's public cloud, with the names vaultlink serves (the Key Vault DNS
/// suffix, Resource Manager and the login endpoint are the ones its clients already use).
pub(crate) fn environment() -> Value {
    json!({
        "name": "AzureCloud",
        "gallery": "https://gallery.azure.com/",
        "graph": "https://graph.windows.net/",
        "portal": "https://portal.azure.com",
        "graphAudience": "https://graph.windows.net/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
        "resourceManager": "https://management.azure.com/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com/",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {
            "acrLoginServer": ".azurecr.io",
            "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyvaultDns": ".vault.azure.net",
            "sqlServerHostname": ".database.windows.net",
            "storage": "core.windows.net",
        },
    })
}

/// `deployment()`'s answer for a deployment of this template.
pub(crate) fn deployment_info(scope: &Scope, template: &Value, parameters: &Map<String, Value>) -> Value {
    let mut t = Map::new();
    for k in ["$schema", "contentVersion", "metadata"] {
        if let Some(v) = template.get(k) {
            t.insert(k.to_string(), v.clone());
        }
    }
    let mut d = json!({
        "name": scope.deployment_name,
        "properties": {
            "templateHash": super::hash::template_hash(template),
            "template": t,
            "parameters": parameters,
            "mode": "Incremental",
            "provisioningState": "Accepted",
        },
    });
    if let Some(l) = &scope.location
        && scope.resource_group.is_none()
    {
        d["location"] = json!(l);
    }
    if let Some(link) = &scope.template_link {
        d["properties"]["templateLink"] = shown_link(link);
    }
    d
}

/// A `templateLink` or `parametersLink` as vaultlink shows it (in `deployment()` and the
/// deployment's record): its query string, often a SAS token, left out, whether given as
/// `queryString` or in the `uri`.
pub fn shown_link(link: &Value) -> Value {
    let mut shown = link.clone();
    if let Some(m) = shown.as_object_mut() {
        m.remove("queryString");
        if let Some(Value::String(uri)) = m.get_mut("uri")
            && let Some(at) = uri.find('?')
        {
            uri.truncate(at);
        }
    }
    shown
}
