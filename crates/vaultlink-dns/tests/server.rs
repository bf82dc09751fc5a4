//! The server on 127.0.0.1, port 0, queried over real UDP and TCP sockets.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use vaultlink_core::dns::View;

struct Server {
    udp: SocketAddr,
    tcp: SocketAddr,
    /// The view every asker gets; the tests change it.
    view: Arc<Mutex<Option<View>>>,
    world: World,
}

async fn start() -> Server {
    let world = World::new();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
    let view = Arc::new(Mutex::new(Some(View::Internet)));
    let chosen = view.clone();
    let views: Arc<vaultlink_dns::ViewFn> = Arc::new(move |_state, client: SocketAddr, local: SocketAddr| {
        assert!(client.ip().is_loopback());
        assert!(local == udp_addr || local == tcp_addr);
        chosen.lock().unwrap().clone()
    });
    tokio::spawn(vaultlink_dns::serve(udp, tcp, world.engine.clone(), views));
    Server { udp: udp_addr, tcp: tcp_addr, view, world }
}

/// Sends one datagram; the response, or `None` if none comes within `wait`.
async fn udp(server: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(bytes, server).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let (n, from) = tokio::time::timeout(wait, socket.recv_from(&mut buf)).await.ok()?.unwrap();
    assert_eq!(from, server);
    Some(buf[..n].to_vec())
}

const ANSWER: Duration = Duration::from_secs(5);

/// Sends the messages on one TCP connection, reads one framed response per message that gets one.
async fn tcp(server: SocketAddr, messages: &[Vec<u8>], responses: usize) -> Vec<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await.unwrap();
    for m in messages {
        let mut frame = (m.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(m);
        stream.write_all(&frame).await.unwrap();
    }
    let mut out = Vec::new();
    for _ in 0..responses {
        let mut len = [0u8; 2];
        tokio::time::timeout(ANSWER, stream.read_exact(&mut len)).await.unwrap().unwrap();
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut body).await.unwrap();
        out.push(body);
    }
    out
}

#[tokio::test]
async fn udp_answers_the_public_chain_and_nxdomain() {
    let s = start().await;
    let r = parse(&udp(s.udp, &query("kv1.vault.azure.net.", RecordType::A, None), ANSWER).await.unwrap());
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(lines(&r.answers).last().unwrap(), &format!("data-prod-weu-region.vaultcore.azure.net. 300 A {WEU}"));
    let r = parse(&udp(s.udp, &query("missing.vault.azure.net.", RecordType::A, None), ANSWER).await.unwrap());
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(lines(&r.authorities)[0].starts_with("vault.azure.net. 300 SOA "));
}

#[tokio::test]
async fn tcp_answers_several_messages_on_one_connection() {
    let s = start().await;
    let out = tcp(
        s.tcp,
        &[query("kv1.vault.azure.net.", RecordType::A, None), query("missing.vault.azure.net.", RecordType::A, None)],
        2,
    )
    .await;
    assert_eq!(parse(&out[0]).answers.len(), 3);
    assert_eq!(parse(&out[1]).metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn truncated_over_udp_then_whole_over_tcp() {
    let s = start().await;
    s.world.txt("big", 20, 200);
    *s.view.lock().unwrap() = Some(s.world.vnet_view());
    let q = query("big.big.internal.", RecordType::TXT, Some(1232));
    let r = parse(&udp(s.udp, &q, ANSWER).await.unwrap());
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = parse(&tcp(s.tcp, &[q], 1).await[0]);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 20);
}

#[tokio::test]
async fn edns_is_echoed_over_udp() {
    let s = start().await;
    let r = parse(&udp(s.udp, &query("kv1.vault.azure.net.", RecordType::A, Some(4096)), ANSWER).await.unwrap());
    assert_eq!(r.edns.map(|e| e.max_payload()), Some(1224));
    let r = parse(&udp(s.udp, &query("kv1.vault.azure.net.", RecordType::A, None), ANSWER).await.unwrap());
    assert!(r.edns.is_none());
}

#[tokio::test]
async fn garbage_gets_formerr_or_silence_and_the_server_keeps_answering() {
    let s = start().await;
    // A header followed by junk: FORMERR with the same id.
    let mut junk = vec![0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    junk.extend_from_slice(&[0xff; 40]);
    let r = parse(&udp(s.udp, &junk, ANSWER).await.unwrap());
    assert_eq!((r.metadata.id, r.metadata.response_code), (0xbeef, ResponseCode::FormErr));
    // A runt: no answer.
    assert_eq!(udp(s.udp, &[1, 2, 3], Duration::from_millis(300)).await, None);
    // Still serving, on both transports.
    let r = parse(&udp(s.udp, &query("kv1.vault.azure.net.", RecordType::A, None), ANSWER).await.unwrap());
    assert_eq!(r.answers.len(), 3);
    let out = tcp(s.tcp, &[vec![1, 2, 3], junk.clone(), query("kv1.vault.azure.net.", RecordType::A, None)], 2).await;
    assert_eq!(parse(&out[0]).metadata.response_code, ResponseCode::FormErr);
    assert_eq!(parse(&out[1]).answers.len(), 3);
}

#[tokio::test]
async fn every_query_reads_the_live_state_and_the_view() {
    let s = start().await;
    let q = query("db.big.internal.", RecordType::A, None);
    // The internet doesn't see the private zone.
    assert_eq!(parse(&udp(s.udp, &q, ANSWER).await.unwrap()).metadata.response_code, ResponseCode::Refused);
    *s.view.lock().unwrap() = Some(s.world.vnet_view());
    assert_eq!(parse(&udp(s.udp, &q, ANSWER).await.unwrap()).metadata.response_code, ResponseCode::NXDomain);
    s.world.set("A", "db", serde_json::json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.0.5"}]}));
    assert_eq!(lines(&parse(&udp(s.udp, &q, ANSWER).await.unwrap()).answers), vec!["db.big.internal. 10 A 10.1.0.5"]);
    s.world.set("A", "db", serde_json::json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.0.6"}]}));
    assert_eq!(lines(&parse(&udp(s.udp, &q, ANSWER).await.unwrap()).answers), vec!["db.big.internal. 10 A 10.1.0.6"]);
    // No view: REFUSED.
    *s.view.lock().unwrap() = None;
    assert_eq!(parse(&udp(s.udp, &q, ANSWER).await.unwrap()).metadata.response_code, ResponseCode::Refused);
}

/// `dig`, a client nobody here wrote (`apt-get install dnsutils`; `.ci/run` installs it).
#[tokio::test]
async fn dig_sees_the_chain_and_the_flags() {
    assert!(
        std::process::Command::new("dig").arg("-v").output().is_ok(),
        "this test needs dig: apt-get install dnsutils"
    );
    let s = start().await;
    let run = |args: Vec<String>| async move {
        tokio::process::Command::new("dig")
            .args(args)
            .output()
            .await
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap()
    };
    let common_args = |extra: &[&str]| {
        let mut a = vec![
            format!("@{}", s.udp.ip()),
            "-p".into(),
            s.udp.port().to_string(),
            "+tries=1".into(),
            "+time=5".into(),
        ];
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let out = run(common_args(&["kv1.vault.azure.net", "A"])).await;
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(out.contains("flags: qr rd ra;"), "{out}");
    assert!(out.contains("udp: 1224"), "{out}");
    assert!(out.contains(&format!("data-prod-weu-region.vaultcore.azure.net. 300 IN A {WEU}")), "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    if std::env::var_os("VAULTLINK_SHOW_DIG").is_some() {
        eprintln!("{out}");
    }
    // +tcp goes to the TCP listener (same port number is not required: ask it directly).
    let mut tcp_args = vec![format!("@{}", s.tcp.ip()), "-p".into(), s.tcp.port().to_string(), "+tcp".into()];
    tcp_args.extend(["+tries=1", "+time=5", "nope.vault.azure.net", "A"].map(String::from));
    let out = run(tcp_args).await;
    assert!(out.contains("status: NXDOMAIN"), "{out}");
    assert!(out.contains("(TCP)"), "{out}");
}

/// A response reused for a repeated query carries the new query's id, and a state change is
/// answered at once even for a query asked just before.
#[tokio::test]
async fn repeated_queries_get_their_own_id_and_the_current_state() {
    let s = start().await;
    *s.view.lock().unwrap() = Some(s.world.vnet_view());
    let mut q = query("db.big.internal.", RecordType::A, None);
    s.world.set("A", "db", serde_json::json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.0.5"}]}));
    for id in [0x0001u16, 0xbeef, 0x0001] {
        q[..2].copy_from_slice(&id.to_be_bytes());
        let r = parse(&udp(s.udp, &q, ANSWER).await.unwrap());
        assert_eq!(r.metadata.id, id);
        assert_eq!(lines(&r.answers), vec!["db.big.internal. 10 A 10.1.0.5"]);
    }
    s.world.set("A", "db", serde_json::json!({"ttl": 10, "aRecords": [{"ipv4Address": "10.1.0.7"}]}));
    let r = parse(&udp(s.udp, &q, ANSWER).await.unwrap());
    assert_eq!(lines(&r.answers), vec!["db.big.internal. 10 A 10.1.0.7"]);
}
