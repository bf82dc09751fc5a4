//! Shared fixtures: a world built through the core's own operations, and query helpers.

#![allow(dead_code)]

use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use serde_json::{Value, json};
use vaultlink_core::dns::View;
use vaultlink_core::privatedns::Preconditions;
use vaultlink_core::{Batch, Caller, Engine, State, keyvault, network, privatedns, seed};

pub(crate) const SUB: &str = seed::SUBSCRIPTION_ID;
pub(crate) const RG: &str = "rg";
/// westeurope's shared public address (`vaultlink_core::dns::region_public_address`).
pub(crate) const WEU: &str = "198.18.14.10";

pub(crate) struct World {
    pub engine: Arc<Engine>,
    caller: Caller,
}

impl World {
    /// Resource group `rg`, Microsoft.KeyVault registered, vault `kv1` in westeurope, and VNet
    /// `vnet1` linked to private zone `big.internal`.
    pub(crate) fn new() -> Self {
        let engine = Arc::new(vaultlink_core::testing::world_with_group(RG));
        let caller = vaultlink_core::testing::developer();
        let w = World { engine, caller };
        let spec = serde_json::from_value(json!({
            "location": "westeurope",
            "properties": {"tenantId": seed::TENANT_ID, "sku": {"family": "A", "name": "standard"}},
        }))
        .unwrap();
        w.write(|s, b, c| keyvault::put_vault(s, b, c, (SUB, RG, "kv1"), "2026-02-01", spec));
        let body =
            json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}});
        w.write(|s, b, c| network::put_vnet(s, b, c, (SUB, RG, "vnet1"), vaultlink_core::testing::net(body)?));
        w.write(|s, b, c| {
            privatedns::put_zone(
                s,
                b,
                c,
                (SUB, RG, "big.internal"),
                vaultlink_core::testing::net(json!({"location": "global"}))?,
                Preconditions::default(),
            )
        });
        let link = json!({"location": "global", "properties": {"virtualNetwork": {"id": w.vnet_id()}}});
        w.write(|s, b, c| {
            privatedns::put_link(
                s,
                b,
                c,
                (SUB, RG, "big.internal", "l1"),
                vaultlink_core::testing::net(link)?,
                Preconditions::default(),
            )
        });
        w
    }

    pub(crate) fn write<R>(&self, f: impl FnOnce(&State, &mut Batch, &Caller) -> vaultlink_core::Result<R>) -> R {
        self.engine.write(|s, b| f(s, b, &self.caller)).unwrap()
    }

    pub(crate) fn vnet_id(&self) -> String {
        network::network_id(SUB, RG, "virtualNetworks", "vnet1")
    }

    pub(crate) fn vnet_view(&self) -> View {
        View::VirtualNetwork { vnet_id: self.vnet_id() }
    }

    /// A record set in `big.internal`.
    pub(crate) fn set(&self, rtype: &str, name: &str, properties: Value) {
        let body = json!({"properties": properties});
        self.write(|s, b, c| {
            privatedns::put_record_set(
                s,
                b,
                c,
                (SUB, RG, "big.internal", rtype, name),
                vaultlink_core::testing::net(body)?,
                Preconditions::default(),
                false,
            )
        });
    }

    /// TXT record set `name.big.internal` with `count` strings of `len` bytes.
    pub(crate) fn txt(&self, name: &str, count: usize, len: usize) {
        let records: Vec<Value> = (0..count).map(|i| json!({"value": [format!("{i:02}").repeat(len / 2)]})).collect();
        self.set("TXT", name, json!({"ttl": 60, "txtRecords": records}));
    }
}

/// A query message (id 0x1234, `rd`), with an OPT of this payload size when `edns` is given.
pub(crate) fn query(name: &str, rtype: RecordType, edns: Option<u16>) -> Vec<u8> {
    let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if let Some(payload) = edns {
        let mut e = Edns::new();
        e.set_max_payload(payload);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

pub(crate) fn parse(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap()
}

/// `name ttl TYPE data` lines of a section, as hickory prints records.
pub(crate) fn lines(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    records.iter().map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data)).collect()
}
