//! `handle_packet` on random bytes and on mutated real queries: never a panic, and every response
//! is a well-formed answer to the message it came from.

mod common;

use common::*;
use hickory_proto::rr::RecordType;
use proptest::prelude::*;
use vaultlink_core::dns::View;
use vaultlink_dns::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};

fn check(w: &World, view_pick: u8, bytes: &[u8], tcp: bool) {
    let view = match view_pick % 3 {
        0 => Some(View::Internet),
        1 => Some(w.vnet_view()),
        _ => None,
    };
    let max = if tcp { TCP_LIMIT } else { usize::from(UDP_PAYLOAD) };
    let Some(out) = w.engine.read(|s| handle_packet(s, view.as_ref(), bytes, max)) else {
        // Silence only for runts and responses.
        assert!(bytes.len() < 12 || bytes[2] & 0x80 != 0);
        return;
    };
    assert!(out.len() >= 12);
    assert!(out.len() <= max);
    assert_eq!(out[..2], bytes[..2], "same id");
    assert!(out[2] & 0x80 != 0, "qr set");
    assert_eq!(out[2] & 0x78, bytes[2] & 0x78, "same opcode");
    assert!(out[3] & 0x80 != 0, "ra set");
    hickory_proto::op::Message::from_vec(&out).expect("a response hickory can read");
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        query("kv1.vault.azure.net.", RecordType::A, None),
        query("kv1.vault.azure.net.", RecordType::AAAA, Some(1232)),
        query("nope.vault.azure.net.", RecordType::TXT, Some(512)),
        query("big.big.internal.", RecordType::TXT, Some(4096)),
        query("x.big.internal.", RecordType::ANY, None),
        query("data-prod-weu.vaultcore.azure.net.", RecordType::SOA, Some(1232)),
    ]
}

fn world() -> World {
    let w = World::new();
    w.txt("big", 20, 200);
    w.set("CNAME", "alias", serde_json::json!({"cnameRecord": {"cname": "kv1.vault.azure.net"}}));
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700), view in any::<u8>(), tcp in any::<bool>()) {
        thread_local!(static W: World = world());
        W.with(|w| check(w, view, &bytes, tcp));
    }

    #[test]
    fn mutated_queries(
        seed in 0usize..6,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
        cut in any::<u16>(),
        view in any::<u8>(),
        tcp in any::<bool>(),
    ) {
        thread_local!(static W: World = world());
        let mut bytes = seeds()[seed].clone();
        for (at, value) in edits {
            let i = usize::from(at) % bytes.len();
            bytes[i] = value;
        }
        bytes[2] &= 0x7f; // keep it a query, so the resolver path is what gets exercised
        let len = bytes.len();
        bytes.truncate(len - usize::from(cut) % (len / 4).max(1));
        W.with(|w| check(w, view, &bytes, tcp));
    }
}
