//! One question to one DNS server on the wire: a UDP datagram, then the same question over TCP
//! when the UDP answer comes back truncated (RFC 7766 §5), for every query type.
//!
//! Consumes a server address, a name and a record type; produces the server's whole reply
//! ([`Exchange::Reply`]: header flags, answer, authority) or what went wrong on the wire. It
//! counts what it sends per server ([`ServerCounts`]: tries, datagrams, TCP connections), so
//! `report.json` equals what a packet capture shows. It never retransmits a datagram within a
//! try, never interprets a reply (see `answer.rs`) and never prints.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hickory_resolver::proto::op::{Edns, Message, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

/// The EDNS(0) payload size advertised over UDP: the DNS Flag Day 2020 value, which avoids IP
/// fragmentation. Larger answers come back truncated and are asked again over TCP.
const EDNS_PAYLOAD: u16 = 1232;

/// What one server was sent and how it behaved, for `report.json`'s `domains.transport`.
#[derive(Debug, Default)]
pub(crate) struct ServerCounts {
    /// Questions asked of it (one per try; a UDP try followed by TCP is still one).
    pub(crate) tries: AtomicU64,
    /// UDP datagrams sent to it.
    pub(crate) datagrams: AtomicU64,
    /// TCP connections opened to it (after a truncated UDP answer).
    pub(crate) tcp_connections: AtomicU64,
    /// Replies with REFUSED.
    pub(crate) refused: AtomicU64,
    /// Tries that got no answer in time.
    pub(crate) timeouts: AtomicU64,
    /// A reply came without the RA (recursion available) flag.
    pub(crate) no_recursion: AtomicBool,
}

/// `report.json`'s `domains.transport.servers[]`: one configured server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerReport {
    /// `IP:port`.
    pub server: String,
    /// Questions asked of it (each try counts; the TCP retry of a truncated answer does not
    /// add a try).
    pub tries: u64,
    /// UDP datagrams sent to it.
    pub datagrams: u64,
    /// TCP connections opened to it, each for one truncated answer.
    pub tcp_connections: u64,
    /// Replies that said REFUSED.
    pub refused: u64,
    /// Tries that got no answer within the timeout.
    pub timeouts: u64,
    /// `false` when a reply came without the RA flag: its negative answers and referrals
    /// were not believed.
    pub recursion_available: bool,
    /// `used`, or why it was left out after the canary check: `refusing`, `untrusted`,
    /// `unreachable`.
    pub state: &'static str,
}

/// What came back for one question from one server.
pub(crate) enum Exchange {
    /// A reply (over UDP, or over TCP after truncation) with this question's ID.
    Reply(Message),
    /// Nothing within the timeout.
    Timeout,
    /// The transport failed: what happened, in words.
    Failed(String),
}

/// Asks `server` for `name`/`record_type`, over TCP when the UDP answer is truncated.
pub(crate) async fn exchange(
    server: SocketAddr,
    counts: &ServerCounts,
    name: &Name,
    record_type: RecordType,
    timeout: Duration,
) -> Exchange {
    counts.tries.fetch_add(1, Ordering::Relaxed);
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name.clone(), record_type));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    query.set_edns(edns);
    let Ok(bytes) = query.to_vec() else {
        return Exchange::Failed("cannot encode the question".into());
    };
    let deadline = Instant::now() + timeout;
    let reply = match udp(server, counts, &query, &bytes, deadline).await {
        Exchange::Reply(reply) if reply.metadata.truncation => reply,
        other => return other,
    };
    drop(reply);
    // RFC 7766 §5: a truncated UDP answer is asked again over TCP, with a fresh timeout.
    let deadline = Instant::now() + timeout;
    match tcp(server, counts, &query, &bytes, deadline).await {
        Exchange::Reply(reply) if reply.metadata.truncation => {
            Exchange::Failed("answer truncated over UDP and again over TCP".into())
        }
        Exchange::Reply(reply) => Exchange::Reply(reply),
        Exchange::Timeout => Exchange::Failed(
            "answer truncated over UDP, and no answer over TCP within the timeout".into(),
        ),
        Exchange::Failed(why) => Exchange::Failed(format!("answer truncated over UDP; {why}")),
    }
}

/// Returns true if and only if `reply` answers `query` (same ID, a response, same question
/// when the reply carries one).
fn answers(query: &Message, reply: &Message) -> bool {
    reply.metadata.id == query.metadata.id
        && reply.metadata.message_type == hickory_resolver::proto::op::MessageType::Response
        && (reply.queries.is_empty() || reply.queries == query.queries)
}

async fn udp(
    server: SocketAddr,
    counts: &ServerCounts,
    query: &Message,
    bytes: &[u8],
    deadline: Instant,
) -> Exchange {
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(socket) => socket,
        Err(e) => return Exchange::Failed(format!("cannot open a UDP socket: {e}")),
    };
    if let Err(e) = socket.connect(server).await {
        return Exchange::Failed(format!("cannot reach {server} over UDP: {e}"));
    }
    counts.datagrams.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = socket.send(bytes).await {
        return Exchange::Failed(format!("cannot send to {server} over UDP: {e}"));
    }
    let mut buffer = vec![0u8; 65_535];
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await;
        match received {
            Err(_) => return Exchange::Timeout,
            // An ICMP refusal (nothing listening) surfaces as an error on a connected socket.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Exchange::Failed(format!(
                    "nothing listens on {server} (ICMP port unreachable)"
                ));
            }
            Ok(Err(e)) => {
                return Exchange::Failed(format!("cannot receive from {server} over UDP: {e}"));
            }
            Ok(Ok(len)) => {
                // Anything that does not answer this question (a late reply, a forgery) is
                // dropped, and the wait goes on.
                if let Ok(reply) = Message::from_vec(&buffer[..len])
                    && answers(query, &reply)
                {
                    return Exchange::Reply(reply);
                }
            }
        }
    }
}

async fn tcp(
    server: SocketAddr,
    counts: &ServerCounts,
    query: &Message,
    bytes: &[u8],
    deadline: Instant,
) -> Exchange {
    let Ok(length) = u16::try_from(bytes.len()) else {
        return Exchange::Failed("the question is too long for TCP".into());
    };
    counts.tcp_connections.fetch_add(1, Ordering::Relaxed);
    let work = async {
        let mut stream = TcpStream::connect(server)
            .await
            .map_err(|e| format!("TCP connection to {server} failed: {e}"))?;
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(bytes);
        stream
            .write_all(&framed)
            .await
            .map_err(|e| format!("cannot send to {server} over TCP: {e}"))?;
        loop {
            let mut prefix = [0u8; 2];
            stream.read_exact(&mut prefix).await.map_err(|e| {
                format!("{server} closed the TCP connection without an answer: {e}")
            })?;
            let mut message = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
            stream
                .read_exact(&mut message)
                .await
                .map_err(|e| format!("{server} sent a cut-off answer over TCP: {e}"))?;
            if let Ok(reply) = Message::from_vec(&message)
                && answers(query, &reply)
            {
                return Ok(reply);
            }
        }
    };
    match tokio::time::timeout_at(deadline, work).await {
        Err(_) => Exchange::Timeout,
        Ok(Ok(reply)) => Exchange::Reply(reply),
        Ok(Err(why)) => Exchange::Failed(why),
    }
}
