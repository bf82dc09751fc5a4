//! Arbitrary bytes into `vaultlink_dns::handle_packet`, the function the server runs for every
//! message. The first input byte picks the view and the transport; the rest is the message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultlink_core::dns::View;
use vaultlink_dns::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let (engine, vnet_id) = vaultlink_fuzz::dns_world();
    let view = match pick % 3 {
        0 => Some(View::Internet),
        1 => Some(View::VirtualNetwork { vnet_id: vnet_id.clone() }),
        _ => None,
    };
    let max = if pick & 0x80 != 0 { TCP_LIMIT } else { usize::from(UDP_PAYLOAD) };
    let Some(out) = engine.read(|s| handle_packet(s, view.as_ref(), bytes, max)) else {
        assert!(bytes.len() < 12 || bytes[2] & 0x80 != 0, "silence only for runts and responses");
        return;
    };
    assert!(out.len() >= 12 && out.len() <= max);
    assert_eq!(out[..2], bytes[..2], "same id");
    assert!(out[2] & 0x80 != 0, "qr set");
    hickory_proto::op::Message::from_vec(&out).expect("a response hickory can read");
});
