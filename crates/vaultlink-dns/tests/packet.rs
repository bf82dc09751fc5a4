//! The wire rules of `handle_packet`, without sockets.

mod common;

use common::*;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use vaultlink_core::dns::View;
use vaultlink_dns::{TCP_LIMIT, UDP_PAYLOAD, handle_packet};

const UDP: usize = UDP_PAYLOAD as usize;

fn ask(w: &World, view: Option<&View>, bytes: &[u8], max: usize) -> Option<Vec<u8>> {
    w.engine.read(|s| handle_packet(s, view, bytes, max))
}

fn ask_msg(w: &World, view: &View, bytes: &[u8], max: usize) -> Message {
    parse(&ask(w, Some(view), bytes, max).expect("a response"))
}

#[test]
fn a_chain_from_the_internet_view_with_azure_flags() {
    let w = World::new();
    let r = ask_msg(&w, &View::Internet, &query("KV1.vault.azure.net.", RecordType::A, None), UDP);
    assert_eq!(r.metadata.id, 0x1234);
    assert_eq!(r.metadata.message_type, MessageType::Response);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.metadata.recursion_desired && r.metadata.recursion_available);
    assert!(!r.metadata.authoritative && !r.metadata.truncation && !r.metadata.authentic_data);
    // The question comes back as asked, and so does the first owner's casing.
    assert_eq!(r.queries[0].name().to_ascii(), "KV1.vault.azure.net.");
    assert_eq!(
        lines(&r.answers),
        vec![
            "KV1.vault.azure.net. 60 CNAME data-prod-weu.vaultcore.azure.net.".to_string(),
            "data-prod-weu.vaultcore.azure.net. 300 CNAME data-prod-weu-region.vaultcore.azure.net.".to_string(),
            format!("data-prod-weu-region.vaultcore.azure.net. 300 A {WEU}"),
        ]
    );
    // No EDNS in the query: none in the answer.
    assert!(r.edns.is_none());
    assert!(r.additionals.is_empty());
}

#[test]
fn rd_is_echoed_not_forced() {
    let w = World::new();
    let mut m = parse(&query("kv1.vault.azure.net.", RecordType::A, None));
    m.metadata.recursion_desired = false;
    m.metadata.checking_disabled = true;
    let r = ask_msg(&w, &View::Internet, &m.to_vec().unwrap(), UDP);
    assert!(!r.metadata.recursion_desired && r.metadata.recursion_available && r.metadata.checking_disabled);
}

#[test]
fn nxdomain_carries_the_soa() {
    let w = World::new();
    let r = ask_msg(&w, &View::Internet, &query("nope.vault.azure.net.", RecordType::A, None), UDP);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(r.answers.is_empty());
    assert_eq!(
        lines(&r.authorities),
        vec![
            "vault.azure.net. 300 SOA ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 300"
        ]
    );
}

#[test]
fn unknown_type_is_nodata_with_soa() {
    let w = World::new();
    let r = ask_msg(&w, &View::Internet, &query("kv1.vault.azure.net.", RecordType::Unknown(65_280), None), UDP);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 2);
    assert_eq!(r.authorities.len(), 1);
}

#[test]
fn edns_is_echoed_with_our_payload_size_do_bit_and_cookie() {
    let w = World::new();
    let mut m = parse(&query("kv1.vault.azure.net.", RecordType::A, Some(4096)));
    let mut e = Edns::new();
    e.set_max_payload(4096).set_dnssec_ok(true);
    e.options_mut().insert(EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]));
    m.set_edns(e);
    let r = ask_msg(&w, &View::Internet, &m.to_vec().unwrap(), UDP);
    let edns = r.edns.expect("an OPT");
    assert_eq!(edns.max_payload(), 1224);
    assert_eq!(edns.version(), 0);
    assert!(edns.flags().dnssec_ok);
    let cookie: Vec<u8> = edns.options().get(EdnsCode::Cookie).expect("cookie").try_into().unwrap();
    assert_eq!(cookie, vec![1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(r.answers.len(), 3);
}

#[test]
fn malformed_cookie_is_formerr_and_future_edns_is_badvers() {
    let w = World::new();
    let mut m = parse(&query("kv1.vault.azure.net.", RecordType::A, Some(1232)));
    let mut e = Edns::new();
    e.options_mut().insert(EdnsOption::Unknown(10, vec![1, 2, 3]));
    m.set_edns(e);
    let r = ask_msg(&w, &View::Internet, &m.to_vec().unwrap(), UDP);
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    assert!(r.edns.is_some());

    let mut e = Edns::new();
    e.set_version(1);
    m.set_edns(e);
    let r = ask_msg(&w, &View::Internet, &m.to_vec().unwrap(), UDP);
    // BADVERS is 16, which hickory reads back as BADSIG (the same code, RFC 2845/6891).
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert_eq!(r.edns.map(|e| e.version()), Some(0));
    assert!(r.answers.is_empty());
}

#[test]
fn large_answers_are_truncated_over_udp_and_whole_over_tcp() {
    let w = World::new();
    w.txt("medium", 3, 200); // about 700 bytes
    w.txt("big", 20, 200); // about 4.3 KB
    let view = w.vnet_view();

    // Without EDNS the limit is 512.
    let r = ask_msg(&w, &view, &query("medium.big.internal.", RecordType::TXT, None), UDP);
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    assert_eq!(r.queries.len(), 1);
    // With EDNS 1232 it fits.
    let bytes = ask(&w, Some(&view), &query("medium.big.internal.", RecordType::TXT, Some(1232)), UDP).unwrap();
    let r = parse(&bytes);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 3);
    assert!(bytes.len() > 512);

    // 4 KB: over any UDP limit (the client's 4096 is capped at ours), whole over TCP.
    let bytes = ask(&w, Some(&view), &query("big.big.internal.", RecordType::TXT, Some(4096)), UDP).unwrap();
    let r = parse(&bytes);
    assert!(r.metadata.truncation && r.answers.is_empty() && r.edns.is_some());
    assert!(bytes.len() <= UDP);
    let bytes = ask(&w, Some(&view), &query("big.big.internal.", RecordType::TXT, None), TCP_LIMIT).unwrap();
    let r = parse(&bytes);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 20);
    assert!(bytes.len() > 4000);
}

#[test]
fn long_txt_strings_are_split_into_255_byte_character_strings() {
    let w = World::new();
    w.set("TXT", "long", serde_json::json!({"txtRecords": [{"value": ["x".repeat(600)]}]}));
    let r = ask_msg(&w, &w.vnet_view(), &query("long.big.internal.", RecordType::TXT, None), TCP_LIMIT);
    let hickory_proto::rr::RData::TXT(txt) = &r.answers[0].data else { panic!("not TXT") };
    let sizes: Vec<usize> = txt.txt_data.iter().map(|s| s.len()).collect();
    assert_eq!(sizes, vec![255, 255, 90]);
}

#[test]
fn runts_and_responses_get_no_answer() {
    let w = World::new();
    for bytes in [&[][..], &[0u8; 11][..], &[0x12, 0x34, 0x01][..]] {
        assert_eq!(ask(&w, Some(&View::Internet), bytes, UDP), None);
    }
    let mut m = parse(&query("kv1.vault.azure.net.", RecordType::A, None));
    m.metadata.message_type = MessageType::Response;
    assert_eq!(ask(&w, Some(&View::Internet), &m.to_vec().unwrap(), UDP), None);
}

#[test]
fn a_header_with_garbage_is_formerr() {
    let w = World::new();
    let mut bytes = query("kv1.vault.azure.net.", RecordType::A, None);
    bytes.truncate(20);
    let out = ask(&w, Some(&View::Internet), &bytes, UDP).unwrap();
    assert_eq!(out.len(), 12);
    let r = parse(&out);
    assert_eq!((r.metadata.id, r.metadata.response_code), (0x1234, ResponseCode::FormErr));
    assert!(r.metadata.recursion_desired && r.metadata.recursion_available);
    // Header only, claiming one question.
    let r = parse(&ask(&w, Some(&View::Internet), &bytes[..12], UDP).unwrap());
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn question_count_opcode_class_and_view_rules() {
    let w = World::new();
    let base = parse(&query("kv1.vault.azure.net.", RecordType::A, None));
    let rcode = |m: &Message, view: Option<&View>| {
        parse(&ask(&w, view, &m.to_vec().unwrap(), UDP).unwrap()).metadata.response_code
    };

    let mut none = base.clone();
    none.queries.clear();
    assert_eq!(rcode(&none, Some(&View::Internet)), ResponseCode::FormErr);
    let mut two = base.clone();
    two.add_query(Query::query(Name::from_ascii("kv2.vault.azure.net.").unwrap(), RecordType::A));
    assert_eq!(rcode(&two, Some(&View::Internet)), ResponseCode::FormErr);

    for op in [OpCode::Status, OpCode::Notify, OpCode::Update, OpCode::Unknown(9)] {
        let mut m = base.clone();
        m.metadata.op_code = op;
        let r = parse(&ask(&w, Some(&View::Internet), &m.to_vec().unwrap(), UDP).unwrap());
        assert_eq!((r.metadata.response_code, r.metadata.op_code), (ResponseCode::NotImp, op));
    }

    let mut chaos = base.clone();
    chaos.queries[0].set_query_class(DNSClass::CH);
    assert_eq!(rcode(&chaos, Some(&View::Internet)), ResponseCode::Refused);

    let mut axfr = base.clone();
    axfr.queries[0].set_query_type(RecordType::AXFR);
    assert_eq!(rcode(&axfr, Some(&View::Internet)), ResponseCode::Refused);
    let mut opt = base.clone();
    opt.queries[0].set_query_type(RecordType::OPT);
    assert_eq!(rcode(&opt, Some(&View::Internet)), ResponseCode::FormErr);

    assert_eq!(rcode(&base, None), ResponseCode::Refused);
    assert_eq!(rcode(&base, Some(&View::Internet)), ResponseCode::NoError);
}

#[test]
fn names_with_odd_bytes_are_answered_not_crashed_on() {
    let w = World::new();
    let name = Name::from_labels(vec![&b"k\x00v.\xff"[..], b"vault", b"azure", b"net"]).unwrap();
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(name.clone(), RecordType::A));
    let r = ask_msg(&w, &View::Internet, &m.to_vec().unwrap(), UDP);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(r.queries[0].name(), &name);
}

/// Found by the fuzzer (`fuzz/`, handle_packet): a query with many questions is answered FormErr
/// with its questions echoed, and truncation keeps the questions, so the UDP answer was larger
/// than the size it must fit. Now the questions go too when the truncated answer still does not fit.
#[test]
fn an_answer_that_cannot_fit_even_truncated_drops_its_questions() {
    let w = World::new();
    let mut m = parse(&query("kv1.vault.azure.net.", RecordType::A, None));
    for i in 0..40 {
        let name = Name::from_ascii(format!("{}{i}.vault.azure.net.", "q".repeat(50))).unwrap();
        m.add_query(Query::query(name, RecordType::A));
    }
    let bytes = m.to_vec().unwrap();
    assert!(bytes.len() > 2 * 512);
    for max in [512, UDP] {
        let out = ask(&w, Some(&View::Internet), &bytes, max).expect("an answer");
        assert!(out.len() <= max, "{} bytes for a limit of {max}", out.len());
        let r = parse(&out);
        assert_eq!((r.metadata.id, r.metadata.response_code), (0x1234, ResponseCode::FormErr));
        assert!(r.metadata.truncation && r.queries.is_empty());
    }
}
