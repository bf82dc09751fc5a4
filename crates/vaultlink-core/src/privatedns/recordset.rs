//! Record sets of a private DNS zone: their per-type shapes, put and patch, get, list, delete.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetSpec {
    #[serde(default)]
    pub properties: RecordSetPropertiesSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordSetPropertiesSpec {
    pub ttl: Option<i64>,
    pub metadata: Option<Tags>,
    pub a_records: Option<Vec<ARecordSpec>>,
    pub aaaa_records: Option<Vec<AaaaRecordSpec>>,
    pub cname_record: Option<CnameSpec>,
    pub mx_records: Option<Vec<MxSpec>>,
    pub ptr_records: Option<Vec<PtrSpec>>,
    pub srv_records: Option<Vec<SrvSpec>>,
    pub txt_records: Option<Vec<TxtSpec>>,
    pub soa_record: Option<SoaSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ARecordSpec {
    pub ipv4_address: String,
}
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AaaaRecordSpec {
    pub ipv6_address: String,
}
#[derive(Debug, Deserialize)]
pub struct CnameSpec {
    pub cname: String,
}
#[derive(Debug, Deserialize)]
pub struct MxSpec {
    pub preference: u16,
    pub exchange: String,
}
#[derive(Debug, Deserialize)]
pub struct PtrSpec {
    pub ptrdname: String,
}
#[derive(Debug, Deserialize)]
pub struct SrvSpec {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}
#[derive(Debug, Deserialize)]
pub struct TxtSpec {
    pub value: Vec<String>,
}
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoaSpec {
    pub email: Option<String>,
    pub expire_time: Option<u32>,
    pub minimum_ttl: Option<u32>,
    pub refresh_time: Option<u32>,
    pub retry_time: Option<u32>,
}

fn record_data(rtype: &str, p: &RecordSetPropertiesSpec, current: Option<&RecordData>) -> Result<RecordData> {
    let bad = |m: String| Error::bad_request("BadRequest", m);
    let mut d = RecordData::default();
    match rtype {
        "A" => {
            for r in p.a_records.iter().flatten() {
                let a: std::net::Ipv4Addr = r
                    .ipv4_address
                    .parse()
                    .map_err(|_| bad(format!("The IPv4 address '{}' is not valid.", r.ipv4_address)))?;
                d.a.push(a.to_string());
            }
        }
        "AAAA" => {
            for r in p.aaaa_records.iter().flatten() {
                let a: std::net::Ipv6Addr = r
                    .ipv6_address
                    .parse()
                    .map_err(|_| bad(format!("The IPv6 address '{}' is not valid.", r.ipv6_address)))?;
                d.aaaa.push(a.to_string());
            }
        }
        "CNAME" => d.cname = p.cname_record.as_ref().map(|c| c.cname.clone()),
        "MX" => d.mx = p.mx_records.iter().flatten().map(|m| (m.preference, m.exchange.clone())).collect(),
        "PTR" => d.ptr = p.ptr_records.iter().flatten().map(|r| r.ptrdname.clone()).collect(),
        "SRV" => {
            d.srv = p.srv_records.iter().flatten().map(|s| (s.priority, s.weight, s.port, s.target.clone())).collect()
        }
        "TXT" => d.txt = p.txt_records.iter().flatten().map(|t| t.value.clone()).collect(),
        "SOA" => {
            let mut soa = current
                .and_then(|c| c.soa.clone())
                .ok_or_else(|| bad("The SOA record set cannot be created.".into()))?;
            if let Some(s) = &p.soa_record {
                soa.email = s.email.clone().unwrap_or(soa.email);
                soa.expire_time = s.expire_time.unwrap_or(soa.expire_time);
                soa.minimum_ttl = s.minimum_ttl.unwrap_or(soa.minimum_ttl);
                soa.refresh_time = s.refresh_time.unwrap_or(soa.refresh_time);
                soa.retry_time = s.retry_time.unwrap_or(soa.retry_time);
            }
            d.soa = Some(soa);
        }
        _ => unreachable!("record types are checked by canonical_type"),
    }
    let count = d.a.len() + d.aaaa.len() + d.mx.len() + d.ptr.len() + d.srv.len() + d.txt.len();
    if count > MAX_RECORDS_PER_SET {
        return Err(bad(format!("A record set can hold at most {MAX_RECORDS_PER_SET} records.")));
    }
    Ok(d)
}

type RecordKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

pub fn put_record_set(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    (sub, rg, zone_name, rtype, name): RecordKey<'_>,
    spec: RecordSetSpec,
    pre: Preconditions<'_>,
    patch: bool,
) -> Result<(RecordSet, bool)> {
    let rtype = canonical_type(rtype)?;
    let z = parent_zone(state, caller, (sub, rg, zone_name), "write", rtype)?;
    vaultlink_rules::record_set_name(name)?;
    let id = format!("{}/{rtype}/{}", z.id, name.to_ascii_lowercase());
    let existing = match state.get(&id) {
        Some(Record::RecordSet(r)) => Some(r.clone()),
        _ => None,
    };
    if patch && existing.is_none() {
        return Err(child_not_found(zone_name, &format!("{rtype}/{name}"), rg));
    }
    check_preconditions(existing.as_ref().map(|r| r.etag.as_str()), pre.if_match, pre.if_none_match)?;
    if rtype == "SOA" && name != "@" {
        return Err(Error::bad_request("BadRequest", "The SOA record set must be named '@'."));
    }
    if rtype == "CNAME" && name == "@" {
        return Err(Error::bad_request("BadRequest", "A CNAME record set cannot be created at the zone apex."));
    }
    if existing.is_none() && record_set_count(state, &z.id) >= MAX_RECORD_SETS {
        return Err(Error::bad_request(
            "BadRequest",
            format!("The zone already has the maximum of {MAX_RECORD_SETS} record sets."),
        ));
    }
    // A CNAME cannot share its name with any other record set, and vice versa.
    let clash = record_sets_named(state, &z.id, name)
        .into_iter()
        .find(|r| r.record_type != rtype && (r.record_type == "CNAME" || rtype == "CNAME"));
    if let Some(c) = clash {
        return Err(Error::conflict(
            "Conflict",
            format!(
                "The record set {name} of type {rtype} conflicts with the existing {} record set of the same name.",
                c.record_type
            ),
        ));
    }
    let data = if patch && no_records_given(&spec.properties) {
        existing.as_ref().map(|e| e.data.clone()).unwrap_or_default()
    } else {
        record_data(rtype, &spec.properties, existing.as_ref().map(|e| &e.data))?
    };
    let ttl = match spec.properties.ttl {
        Some(t) if !(0..=2_147_483_647).contains(&t) => {
            return Err(Error::bad_request("BadRequest", format!("The TTL {t} is not valid.")));
        }
        Some(t) => t as u32,
        None => existing.as_ref().map_or(3600, |e| e.ttl),
    };
    let rs = RecordSet {
        id: existing
            .as_ref()
            .map_or_else(|| format!("{}/{rtype}/{}", z.id, name.to_ascii_lowercase()), |e| e.id.clone()),
        zone_id: z.id.clone(),
        record_type: rtype.into(),
        name: existing.as_ref().map_or_else(|| name.to_ascii_lowercase(), |e| e.name.clone()),
        ttl,
        metadata: spec.properties.metadata.or(existing.as_ref().map(|e| e.metadata.clone())).unwrap_or_default(),
        data,
        auto_registered: false,
        etag: guid(),
    };
    batch.put(&rs.id, Record::RecordSet(Box::new(rs.clone())));
    Ok((rs, existing.is_none()))
}

fn no_records_given(p: &RecordSetPropertiesSpec) -> bool {
    p.a_records.is_none()
        && p.aaaa_records.is_none()
        && p.cname_record.is_none()
        && p.mx_records.is_none()
        && p.ptr_records.is_none()
        && p.srv_records.is_none()
        && p.txt_records.is_none()
        && p.soa_record.is_none()
}

pub fn get_record_set(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name, rtype, name): RecordKey<'_>,
) -> Result<RecordSet> {
    let rtype = canonical_type(rtype)?;
    zone_of_child(state, caller, (sub, rg, zone_name))?
        .and_then(|z| record_sets_named(state, &z.id, name).into_iter().find(|r| r.record_type == rtype))
        .ok_or_else(|| child_not_found(zone_name, &format!("{rtype}/{name}"), rg))
}

pub fn delete_record_set(
    state: &State,
    batch: &mut Batch,
    caller: &Caller,
    key: RecordKey<'_>,
    pre: Preconditions<'_>,
) -> Result<bool> {
    if canonical_type(key.3)? == "SOA" {
        return Err(Error::bad_request("BadRequest", "The SOA record set cannot be deleted."));
    }
    match get_record_set(state, caller, key) {
        Ok(r) => {
            check_preconditions(Some(&r.etag), pre.if_match, pre.if_none_match)?;
            batch.delete(&r.id);
            Ok(true)
        }
        // Not there, or its zone is not there: nothing to delete (204), as for links.
        Err(e) if e.kind == crate::error::Kind::NotFound && e.code == "ResourceNotFound" => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lists record sets of one type, or of all types (`ALL`).
pub fn list_record_sets(
    state: &State,
    caller: &Caller,
    (sub, rg, zone_name): (&str, &str, &str),
    rtype: Option<&str>,
) -> Result<Vec<RecordSet>> {
    let rtype = rtype.map(canonical_type).transpose()?;
    let z = parent_zone(state, caller, (sub, rg, zone_name), "read", rtype.unwrap_or("all"))?;
    Ok(record_sets_of(state, &z.id).into_iter().filter(|r| rtype.is_none_or(|t| r.record_type == t)).collect())
}

pub fn render_record_set(z_name: &str, r: &RecordSet) -> Value {
    let fqdn = if r.name == "@" { format!("{z_name}.") } else { format!("{}.{z_name}.", r.name) };
    let mut props = json!({"ttl": r.ttl, "fqdn": fqdn, "isAutoRegistered": r.auto_registered});
    if !r.metadata.is_empty() {
        props["metadata"] = json!(r.metadata);
    }
    let d = &r.data;
    match r.record_type.as_str() {
        "A" => props["aRecords"] = json!(d.a.iter().map(|a| json!({"ipv4Address": a})).collect::<Vec<_>>()),
        "AAAA" => props["aaaaRecords"] = json!(d.aaaa.iter().map(|a| json!({"ipv6Address": a})).collect::<Vec<_>>()),
        "CNAME" => {
            if let Some(c) = &d.cname {
                props["cnameRecord"] = json!({"cname": c});
            }
        }
        "MX" => {
            props["mxRecords"] =
                json!(d.mx.iter().map(|(p, e)| json!({"preference": p, "exchange": e})).collect::<Vec<_>>())
        }
        "PTR" => props["ptrRecords"] = json!(d.ptr.iter().map(|p| json!({"ptrdname": p})).collect::<Vec<_>>()),
        "SRV" => {
            props["srvRecords"] = json!(
                d.srv
                    .iter()
                    .map(|(p, w, port, t)| json!({"priority": p, "weight": w, "port": port, "target": t}))
                    .collect::<Vec<_>>()
            )
        }
        "TXT" => props["txtRecords"] = json!(d.txt.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()),
        "SOA" => {
            if let Some(s) = &d.soa {
                props["soaRecord"] = json!({"email": s.email, "expireTime": s.expire_time, "host": s.host, "minimumTtl": s.minimum_ttl, "refreshTime": s.refresh_time, "retryTime": s.retry_time, "serialNumber": s.serial_number});
            }
        }
        _ => {}
    }
    json!({
        "id": r.id,
        "name": r.name,
        "type": format!("{ZONE_TYPE}/{}", r.record_type),
        "etag": r.etag,
        "properties": props,
    })
}
