//! One DNS message in, one out: the wire rules around `vaultlink_core::dns::answer`.
//!
//! Total and pure: no sockets, no panics on any input. The server runs every message through
//! [`handle_packet`], and so does the fuzz target, so what is fuzzed is what is served.
//!
//! Wire choices (Azure's own behaviour where known, azure-dns-details.md §4):
//! - header `qr`, `ra` always (Azure DNS is a recursive resolver), `rd` and `cd` copied, `aa` as
//!   the answer says (never, for the current views), no DNSSEC (`ad` clear; the `DO` bit is
//!   copied into the OPT as RFC 3225 asks, but no signatures are ever added);
//! - EDNS: an OPT is returned only when the query had one, advertising [`UDP_PAYLOAD`] (1224,
//!   the size Azure DNS advertises in captures); a client COOKIE is echoed back (Azure does);
//!   an EDNS version above 0 gets BADVERS; a malformed COOKIE gets FORMERR (RFC 7873);
//! - over UDP a response larger than the client's limit (its EDNS payload size, 512 without
//!   EDNS; capped at the server's own) is cut to the header, question and OPT with `tc` set, so
//!   the client retries over TCP. (Azure has been seen truncating to 512 *without* `tc`; that is a
//!   bug vaultlink does not copy.)
//! - fewer than 12 bytes, or a message with `qr` set: no response at all (nothing to answer, and
//!   answering responses invites reflection loops);
//! - a header followed by an unparsable body: FORMERR (opcode QUERY) or NOTIMP (other opcodes);
//! - opcode other than QUERY: NOTIMP; not exactly one question: FORMERR;
//! - class other than IN: REFUSED (vaultlink's choice; CHAOS `version.bind` and the like are not
//!   offered); AXFR/IXFR: REFUSED (no zone transfers); meta types OPT/TKEY/TSIG as the question:
//!   FORMERR; any other type goes to the resolver (unknown types: NOERROR/NODATA with the SOA);
//! - no view for the asker: REFUSED.

use std::fmt::Write as _;

use hickory_proto::op::OpCode;
use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{self};
use hickory_proto::rr::{DNSClass, Name, RData, Record};
use vaultlink_core::State;
use vaultlink_core::dns::{self, DnsRecord, QType, Rcode, RecordData, View};

/// The EDNS UDP payload size vaultlink advertises and the largest UDP response it sends: 1224,
/// what 168.63.129.16 advertises in every capture (azure-dns-details.md §4).
pub const UDP_PAYLOAD: u16 = 1224;
/// Pass as `max_udp` for a message that came over TCP: no truncation below 64 KiB.
pub const TCP_LIMIT: usize = 65_535;
/// Responses to a query without EDNS fit in 512 bytes (RFC 1035).
const CLASSIC_UDP: usize = 512;
const HEADER_LEN: usize = 12;

/// Answers one DNS message as vaultlink's DNS server does.
///
/// `view` is the asker's view (`None`: REFUSED). `max_udp` is the largest response the transport
/// allows: the server's UDP payload size ([`UDP_PAYLOAD`]) for UDP, where the client's own limit
/// also applies, or [`TCP_LIMIT`] (or more) for TCP. Returns `None` when no response must be
/// sent (runt packets, responses).
pub fn handle_packet(state: &State, view: Option<&View>, bytes: &[u8], max_udp: usize) -> Option<Vec<u8>> {
    let header = RawHeader::parse(bytes)?;
    if header.is_response() {
        return None;
    }
    let Ok(request) = Message::from_vec(bytes) else {
        let rcode = if header.opcode() == 0 { ResponseCode::FormErr } else { ResponseCode::NotImp };
        return Some(header.error(rcode));
    };
    let response = respond(state, view, &request);
    let limit = if max_udp >= TCP_LIMIT {
        TCP_LIMIT
    } else {
        let client = request.edns.as_ref().map_or(CLASSIC_UDP, |e| usize::from(e.max_payload()).max(CLASSIC_UDP));
        client.min(max_udp)
    };
    Some(encode(&response, limit).unwrap_or_else(|| header.error(ResponseCode::ServFail)))
}

/// The response message for a parsed request.
fn respond(state: &State, view: Option<&View>, request: &Message) -> Message {
    let mut response = Message::new(request.metadata.id, MessageType::Response, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.checking_disabled = request.metadata.checking_disabled;
    response.metadata.recursion_available = true;
    response.queries = request.queries.clone();
    let fail = |mut response: Message, code: ResponseCode| {
        response.metadata.response_code = code;
        response
    };

    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(UDP_PAYLOAD).set_version(0).set_dnssec_ok(edns.flags().dnssec_ok);
        if edns.version() > 0 {
            response.set_edns(ours);
            return fail(response, ResponseCode::BADVERS);
        }
        let cookie = client_cookie(edns);
        if let Ok(Some(c)) = &cookie {
            ours.options_mut().insert(EdnsOption::Unknown(u16::from(EdnsCode::Cookie), c.clone()));
        }
        response.set_edns(ours);
        if cookie.is_err() {
            return fail(response, ResponseCode::FormErr);
        }
    }
    if request.metadata.op_code != OpCode::Query {
        return fail(response, ResponseCode::NotImp);
    }
    let [question] = request.queries.as_slice() else {
        return fail(response, ResponseCode::FormErr);
    };
    if question.query_class() != DNSClass::IN {
        return fail(response, ResponseCode::Refused);
    }
    let code = u16::from(question.query_type());
    match code {
        251 | 252 => return fail(response, ResponseCode::Refused),
        41 | 249 | 250 => return fail(response, ResponseCode::FormErr),
        _ => {}
    }
    let Some(view) = view else {
        return fail(response, ResponseCode::Refused);
    };

    let qname = presentation(question.name());
    let answer = dns::answer(state, view, &qname, QType::from_code(code));
    tracing::debug!(id = request.metadata.id, %qname, qtype = code, rcode = ?answer.rcode, "dns query");
    let records =
        |list: &[DnsRecord]| list.iter().map(|r| wire_record(r, question.name(), &qname)).collect::<Option<Vec<_>>>();
    match (records(&answer.answers), records(&answer.authority)) {
        (Some(answers), Some(authorities)) => {
            response.answers = answers;
            response.authorities = authorities;
            response.metadata.authoritative = answer.authoritative;
            response.metadata.response_code = match answer.rcode {
                Rcode::NoError => ResponseCode::NoError,
                Rcode::NxDomain => ResponseCode::NXDomain,
                Rcode::ServFail => ResponseCode::ServFail,
                Rcode::Refused => ResponseCode::Refused,
            };
            response
        }
        _ => {
            tracing::warn!(%qname, "a record holds a name that is not valid on the wire; answering SERVFAIL");
            fail(response, ResponseCode::ServFail)
        }
    }
}

/// The client cookie to echo (RFC 7873 §5.2): `Ok(None)` without a COOKIE option, `Err` when the
/// option is malformed (FORMERR).
fn client_cookie(edns: &Edns) -> Result<Option<Vec<u8>>, ()> {
    let Some(option) = edns.options().get(EdnsCode::Cookie) else {
        return Ok(None);
    };
    let bytes: Vec<u8> = option.try_into().map_err(|_| ())?;
    match bytes.len() {
        8 | 16..=40 => Ok(Some(bytes[..8].to_vec())),
        _ => Err(()),
    }
}

/// Encodes the response within `limit` bytes, truncating (TC, records dropped) when it doesn't
/// fit (and its questions dropped too when even that does not fit). `None` only if no form of it
/// can be encoded within `limit`.
fn encode(response: &Message, limit: usize) -> Option<Vec<u8>> {
    match response.to_vec() {
        Ok(bytes) if bytes.len() <= limit => Some(bytes),
        Ok(_) => {
            // Truncation keeps the questions; a query with many of them (answered FormErr, with
            // them echoed) can still be too large, and then the questions go too.
            let mut truncated = response.truncate();
            match truncated.to_vec() {
                Ok(bytes) if bytes.len() <= limit => Some(bytes),
                _ => {
                    truncated.queries.clear();
                    truncated.to_vec().ok().filter(|b| b.len() <= limit)
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "could not encode a DNS response");
            None
        }
    }
}

/// A name as the core reads it: lower-case labels, `\DDD` for any byte outside
/// `[a-z0-9-_*]`, absolute (trailing dot).
fn presentation(name: &Name) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for label in name.iter() {
        for &b in label {
            match b.to_ascii_lowercase() {
                c @ (b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'*') => out.push(char::from(c)),
                other => {
                    let _ = write!(out, "\\{other:03}");
                }
            }
        }
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// A core record on the wire. The question's own name (with the asker's casing) is used when the
/// owner is the asked name, as servers conventionally do. `None` for a name that can't be encoded.
fn wire_record(r: &DnsRecord, qname: &Name, qname_key: &str) -> Option<Record> {
    let name = |s: &str| Name::from_ascii(s).ok();
    let owner = if r.name == qname_key { qname.clone() } else { name(&r.name)? };
    let data = match &r.data {
        RecordData::A(a) => RData::A(rdata::A(*a)),
        RecordData::Aaaa(a) => RData::AAAA(rdata::AAAA(*a)),
        RecordData::Cname(t) => RData::CNAME(rdata::CNAME(name(t)?)),
        RecordData::Mx(p, x) => RData::MX(rdata::MX::new(*p, name(x)?)),
        RecordData::Ns(n) => RData::NS(rdata::NS(name(n)?)),
        RecordData::Ptr(p) => RData::PTR(rdata::PTR(name(p)?)),
        RecordData::Srv(p, w, port, t) => RData::SRV(rdata::SRV::new(*p, *w, *port, name(t)?)),
        RecordData::Txt(strings) => RData::TXT(txt(strings)),
        RecordData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
            let signed = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
            RData::SOA(rdata::SOA::new(
                name(mname)?,
                name(rname)?,
                *serial,
                signed(*refresh),
                signed(*retry),
                signed(*expire),
                *minimum,
            ))
        }
    };
    Some(Record::from_rdata(owner, r.ttl, data))
}

/// TXT data: each stored string split into character-strings of at most 255 bytes (as Azure DNS
/// does with long values); at least one (possibly empty) string.
fn txt(strings: &[String]) -> rdata::TXT {
    let mut chunks: Vec<&[u8]> = strings
        .iter()
        .flat_map(|s| if s.is_empty() { vec![&b""[..]] } else { s.as_bytes().chunks(255).collect() })
        .collect();
    if chunks.is_empty() {
        chunks.push(b"");
    }
    rdata::TXT::from_bytes(chunks)
}

/// The fixed 12-byte header, read without trusting the rest of the message.
struct RawHeader {
    id: u16,
    flags: u16,
}

impl RawHeader {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let h = bytes.get(..HEADER_LEN)?;
        Some(RawHeader { id: u16::from_be_bytes([h[0], h[1]]), flags: u16::from_be_bytes([h[2], h[3]]) })
    }

    fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// A bare error response: `qr ra`, opcode, `rd` and `cd` copied, no sections.
    fn error(&self, rcode: ResponseCode) -> Vec<u8> {
        let flags = 0x8000
            | (self.flags & 0x7800)
            | (self.flags & 0x0100)
            | 0x0080
            | (self.flags & 0x0010)
            | (u16::from(rcode.low()));
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&[0; 8]);
        out
    }
}
