//! Real DNS on loopback for tests and the DNS benchmark.
//!
//! A [`DnsFixture`] owns a multi-threaded tokio runtime running an in-process `hickory-server`
//! authority (zone files from `tests/fixtures/dns/`) behind a small UDP front. The front is the
//! address the code under test talks to: it counts every query per (name, type), and can
//! answer SERVFAIL, stay silent (timeouts) or answer NXDOMAIN for every name (a lying
//! resolver), for chosen names or for all of them, and delay answers. It can also go silent
//! for good after answering its first N queries (a resolver dying half-way). It also records
//! how many queries were waiting for their answer at once, at most.
//!
//! Issue 15: the front also listens on TCP on the same port (forwarding to the authority over
//! TCP), can truncate UDP answers (TC bit, sections emptied) so that only TCP gets the full
//! answer, answer REFUSED with or without the question section, answer as an authoritative
//! server without recursion (RA clear; a referral for chosen names), and serve a CNAME loop.
//! It counts the datagrams and TCP connections it receives, so tests can hold `report.json`'s
//! figures against the wire. Forwarded answers carry the RA flag unless told otherwise.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::MX;
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use tokio::net::UdpSocket;

/// How the front answers a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Forward to the authority (the zone files).
    Authority,
    /// SERVFAIL for every name.
    ServFail,
    /// Never answer (the client times out).
    Silent,
    /// NXDOMAIN for every name, `gmail.com` included: a lying resolver.
    NxDomainAll,
    /// `MX 10 mx.<name>` for every MX question, NODATA for other types, built by the front
    /// itself: cheap enough that a benchmark measures the client, not the server.
    SyntheticMx,
    /// REFUSED for every name, the question copied into the reply.
    Refused,
    /// REFUSED for every name with no question section (Unbound's `refuse` action).
    RefusedBare,
}

/// Builds a [`DnsFixture`].
#[derive(Debug, Clone)]
pub(crate) struct DnsFixtureBuilder {
    mode: Mode,
    zone_dir: Option<std::path::PathBuf>,
    extra_zones: Vec<String>,
    servfail: Vec<String>,
    codes: Vec<(String, ResponseCode)>,
    silent: Vec<String>,
    delay: Duration,
    answer_first: Option<usize>,
    truncate: Vec<String>,
    truncate_all: bool,
    no_recursion: bool,
    referral: Vec<String>,
    cname_loop: Vec<String>,
}

impl DnsFixtureBuilder {
    /// Over UDP, answers for this name come back truncated (TC bit, no records); TCP gets the
    /// full answer.
    pub(crate) fn truncate(mut self, name: &str) -> Self {
        self.truncate.push(name.to_string());
        self
    }

    /// Every UDP answer comes back truncated (as behind a resolver limited to small answers).
    pub(crate) fn truncate_all(mut self) -> Self {
        self.truncate_all = true;
        self
    }

    /// Answers as an authoritative-only server: the RA flag is clear on every reply.
    pub(crate) fn no_recursion(mut self) -> Self {
        self.no_recursion = true;
        self
    }

    /// Answers a referral for this name: NOERROR, no answer, RA clear, only NS records (of
    /// the name's own zone, delegated elsewhere) in the authority section.
    pub(crate) fn referral(mut self, name: &str) -> Self {
        self.referral.push(name.to_string());
        self
    }

    /// Answers `<name> CNAME loop.<name>` and `loop.<name> CNAME <name>` in one answer.
    pub(crate) fn cname_loop(mut self, name: &str) -> Self {
        self.cname_loop.push(name.to_string());
        self
    }

    /// Answers (as the mode says) only the first `n` queries received, in the order they
    /// arrive; every later query goes unanswered (the client times out).
    pub(crate) fn silent_after(mut self, n: usize) -> Self {
        self.answer_first = Some(n);
        self
    }

    /// Serves every zone file in `tests/fixtures/dns/`.
    pub(crate) fn fixture_zones(mut self) -> Self {
        self.zone_dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dns"));
        self
    }

    /// Serves this zone (zone-file text with `$ORIGIN` and an SOA).
    pub(crate) fn zone(mut self, text: String) -> Self {
        self.extra_zones.push(text);
        self
    }

    /// Answers SERVFAIL for this name (any type).
    pub(crate) fn servfail(mut self, name: &str) -> Self {
        self.servfail.push(name.to_string());
        self
    }

    /// Answers `name` with this response code (NOTIMP, FORMERR, …) and nothing else.
    pub(crate) fn code(mut self, name: &str, code: ResponseCode) -> Self {
        self.codes.push((name.to_string(), code));
        self
    }

    /// Never answers for this name (any type).
    pub(crate) fn silent(mut self, name: &str) -> Self {
        self.silent.push(name.to_string());
        self
    }

    /// Delays every answer by this much.
    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Starts the servers.
    pub(crate) fn start(self) -> DnsFixture {
        DnsFixture::start(self)
    }
}

/// Query counts, per (lower-case name without the trailing dot, record type).
pub(crate) type Counts = HashMap<(String, RecordType), usize>;

/// A running loopback DNS server; stops when dropped.
pub(crate) struct DnsFixture {
    /// Where to send queries (`--dns-server`).
    pub(crate) addr: SocketAddr,
    counts: Arc<Mutex<Counts>>,
    in_flight: Arc<InFlight>,
    wire: Arc<Wire>,
    _server: Option<Server<Catalog>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl DnsFixture {
    /// A fixture answering in `mode` (and serving no zone yet).
    pub(crate) fn builder(mode: Mode) -> DnsFixtureBuilder {
        DnsFixtureBuilder {
            mode,
            zone_dir: None,
            extra_zones: Vec::new(),
            servfail: Vec::new(),
            codes: Vec::new(),
            silent: Vec::new(),
            delay: Duration::ZERO,
            answer_first: None,
            truncate: Vec::new(),
            truncate_all: false,
            no_recursion: false,
            referral: Vec::new(),
            cname_loop: Vec::new(),
        }
    }

    /// The authority with every fixture zone.
    pub(crate) fn with_fixture_zones() -> DnsFixture {
        DnsFixture::builder(Mode::Authority).fixture_zones().start()
    }

    fn start(builder: DnsFixtureBuilder) -> DnsFixture {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let mut zones = builder.extra_zones.clone();
        if let Some(dir) = &builder.zone_dir {
            let mut paths: Vec<_> = std::fs::read_dir(dir)
                .expect("zone dir")
                .map(|e| e.expect("dir entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "zone"))
                .collect();
            paths.sort();
            for path in paths {
                zones.push(std::fs::read_to_string(&path).expect("zone file"));
            }
        }
        let counts = Arc::new(Mutex::new(Counts::new()));
        let in_flight = Arc::new(InFlight::default());
        let wire = Arc::new(Wire::default());
        let (addr, server) = runtime.block_on(async {
            let mut catalog = Catalog::new();
            for text in &zones {
                let (origin, records) = Parser::new(text.as_str(), None, None)
                    .parse()
                    .expect("zone parses");
                let zone: InMemoryZoneHandler = InMemoryZoneHandler::new(
                    origin.clone(),
                    records,
                    ZoneType::Primary,
                    AxfrPolicy::Deny,
                )
                .expect("zone loads");
                catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
            }
            let authority_socket = UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind authority");
            let authority = authority_socket.local_addr().expect("authority addr");
            let authority_tcp = TcpListener::bind(authority)
                .await
                .expect("bind authority over TCP");
            let mut server = Server::new(catalog);
            server.register_socket(authority_socket);
            server.register_listener(authority_tcp, Duration::from_secs(5), 65_535);

            let (front, front_tcp) = bind_front().await;
            let front = Arc::new(front);
            let addr = front.local_addr().expect("front addr");
            let builder = Arc::new(builder);
            let shared = Front {
                authority,
                builder,
                counts: counts.clone(),
                in_flight: in_flight.clone(),
                wire: wire.clone(),
            };
            tokio::spawn(tcp_loop(front_tcp, shared.clone()));
            tokio::spawn(front_loop(front, shared));
            (addr, server)
        });
        DnsFixture {
            addr,
            counts,
            in_flight,
            wire,
            _server: Some(server),
            runtime: Some(runtime),
        }
    }

    /// A snapshot of the query counts so far.
    pub(crate) fn counts(&self) -> Counts {
        self.counts.lock().expect("counts").clone()
    }

    /// Queries received for `name` and `record_type`.
    ///
    /// # Panics
    /// When `name` is not in the form the counts are kept in (lower case, no trailing dot): such
    /// a name would always count 0, and a test asserting 0 could never fail.
    // See: #9 (a test asked for "acme-widgets.com." and so always saw 0)
    pub(crate) fn count(&self, name: &str, record_type: RecordType) -> usize {
        assert!(
            !name.ends_with('.') && name == name.to_ascii_lowercase(),
            "count({name:?}): counts are kept per lower-case name without the trailing dot"
        );
        self.counts()
            .get(&(name.to_string(), record_type))
            .copied()
            .unwrap_or(0)
    }

    /// All queries received.
    pub(crate) fn total(&self) -> usize {
        self.counts().values().sum()
    }

    /// UDP datagrams received.
    pub(crate) fn datagrams(&self) -> usize {
        self.wire.datagrams.load(Ordering::SeqCst)
    }

    /// TCP connections accepted.
    pub(crate) fn tcp_connections(&self) -> usize {
        self.wire.tcp_connections.load(Ordering::SeqCst)
    }

    /// Forgets the counts so far (the most in flight and the wire counts too).
    pub(crate) fn reset_counts(&self) {
        self.counts.lock().expect("counts").clear();
        self.wire.datagrams.store(0, Ordering::SeqCst);
        self.wire.tcp_connections.store(0, Ordering::SeqCst);
        self.in_flight.most.store(0, Ordering::SeqCst);
    }

    /// The most queries that were received and not yet answered (or dropped) at one time.
    pub(crate) fn most_in_flight(&self) -> usize {
        self.in_flight.most.load(Ordering::SeqCst)
    }
}

impl Drop for DnsFixture {
    fn drop(&mut self) {
        // The server must be dropped inside its runtime; then stop the runtime without waiting.
        if let Some(runtime) = self.runtime.take() {
            {
                let _entered = runtime.enter();
                self._server.take();
            }
            runtime.shutdown_background();
        }
    }
}

/// Queries received and not yet answered: now, and the most so far.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// One query in flight, from its arrival until its reply is about to be sent (or it is
/// dropped, or left unanswered).
struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn new(in_flight: Arc<InFlight>) -> InFlightGuard {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.most.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(in_flight)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the front received on the wire.
#[derive(Debug, Default)]
struct Wire {
    datagrams: AtomicUsize,
    tcp_connections: AtomicUsize,
}

/// Everything the front's tasks share.
#[derive(Clone)]
struct Front {
    authority: SocketAddr,
    builder: Arc<DnsFixtureBuilder>,
    counts: Arc<Mutex<Counts>>,
    in_flight: Arc<InFlight>,
    wire: Arc<Wire>,
}

/// A UDP socket and a TCP listener on the same loopback port.
async fn bind_front() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind front");
        let addr = udp.local_addr().expect("front addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

/// The query's name (lower case, no trailing dot), after counting it.
fn count_query(front: &Front, request: &Message) -> Option<String> {
    let query = request.queries.first()?;
    let name = query
        .name()
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    *front
        .counts
        .lock()
        .expect("counts")
        .entry((name.clone(), query.query_type()))
        .or_default() += 1;
    Some(name)
}

async fn front_loop(socket: Arc<UdpSocket>, front: Front) {
    let mut received = 0usize;
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, client)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        front.wire.datagrams.fetch_add(1, Ordering::SeqCst);
        let packet = buffer[..len].to_vec();
        let Ok(request) = Message::from_vec(&packet) else {
            continue;
        };
        let Some(name) = count_query(&front, &request) else {
            continue;
        };
        received += 1;
        let gone_silent = front.builder.answer_first.is_some_and(|n| received > n);
        let front = front.clone();
        let socket = socket.clone();
        let guard = InFlightGuard::new(front.in_flight.clone());
        tokio::spawn(async move {
            if gone_silent {
                return;
            }
            let Some(mut reply) = respond(&front, &request, &packet, &name, false).await else {
                return;
            };
            let builder = &front.builder;
            if builder.truncate_all || builder.truncate.contains(&name) {
                reply = truncated(&reply);
            }
            // Answered: no longer in flight (before the client can send its next query).
            drop(guard);
            let _ = socket.send_to(&reply, client).await;
        });
    }
}

async fn tcp_loop(listener: TcpListener, front: Front) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        front.wire.tcp_connections.fetch_add(1, Ordering::SeqCst);
        let front = front.clone();
        tokio::spawn(async move {
            let _ = serve_tcp(stream, front).await;
        });
    }
}

/// Answers length-prefixed questions on one TCP connection until the client closes it.
async fn serve_tcp(mut stream: TcpStream, front: Front) -> std::io::Result<()> {
    loop {
        let mut prefix = [0u8; 2];
        stream.read_exact(&mut prefix).await?;
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        stream.read_exact(&mut packet).await?;
        let Ok(request) = Message::from_vec(&packet) else {
            return Ok(());
        };
        let Some(name) = count_query(&front, &request) else {
            return Ok(());
        };
        let guard = InFlightGuard::new(front.in_flight.clone());
        let reply = respond(&front, &request, &packet, &name, true).await;
        drop(guard);
        let Some(reply) = reply else {
            continue;
        };
        let length = u16::try_from(reply.len()).expect("reply fits TCP framing");
        stream.write_all(&length.to_be_bytes()).await?;
        stream.write_all(&reply).await?;
    }
}

/// The reply without its records, with the TC bit set.
fn truncated(reply: &[u8]) -> Vec<u8> {
    let mut message = Message::from_vec(reply).expect("reply decodes");
    message.metadata.truncation = true;
    message.answers.clear();
    message.authorities.clear();
    message.additionals.clear();
    message.to_vec().expect("encode truncated reply")
}

/// A reply to `request` with this code and no records.
fn reply_to(request: &Message, code: ResponseCode, recursion: bool) -> Message {
    let mut reply = Message::error_msg(request.metadata.id, request.metadata.op_code, code);
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.recursion_available = recursion;
    reply.queries = request.queries.clone();
    reply
}

/// The reply bytes for one question (`None`: stay silent).
async fn respond(
    front: &Front,
    request: &Message,
    packet: &[u8],
    name: &str,
    over_tcp: bool,
) -> Option<Vec<u8>> {
    let builder = &front.builder;
    if !builder.delay.is_zero() {
        tokio::time::sleep(builder.delay).await;
    }
    let recursion = !builder.no_recursion;
    let error = |code| reply_to(request, code, recursion).to_vec().ok();
    let query = &request.queries[0];
    if builder.mode == Mode::Silent || builder.silent.iter().any(|s| s == name) {
        return None;
    }
    if builder.mode == Mode::ServFail || builder.servfail.iter().any(|s| s == name) {
        return error(ResponseCode::ServFail);
    }
    if let Some((_, code)) = builder.codes.iter().find(|(n, _)| n == name) {
        return error(*code);
    }
    match builder.mode {
        Mode::NxDomainAll => return error(ResponseCode::NXDomain),
        Mode::Refused => return error(ResponseCode::Refused),
        Mode::RefusedBare => {
            let mut reply = reply_to(request, ResponseCode::Refused, recursion);
            reply.queries.clear();
            return reply.to_vec().ok();
        }
        Mode::SyntheticMx => {
            let mut reply = reply_to(request, ResponseCode::NoError, recursion);
            reply.metadata.authoritative = true;
            if query.query_type() == RecordType::MX {
                let exchange = Name::from_ascii(format!("mx.{name}.")).expect("mx name");
                reply.answers.push(Record::from_rdata(
                    query.name().clone(),
                    300,
                    RData::MX(MX::new(10, exchange)),
                ));
            }
            return reply.to_vec().ok();
        }
        Mode::Authority | Mode::Silent | Mode::ServFail => {}
    }
    if builder.referral.iter().any(|r| r == name) {
        let mut reply = reply_to(request, ResponseCode::NoError, false);
        let zone = query.name().clone();
        for ns in ["ns1", "ns2"] {
            let host = Name::from_ascii(format!("{ns}.provider-dns.net.")).expect("ns name");
            reply.authorities.push(Record::from_rdata(
                zone.clone(),
                172_800,
                RData::NS(hickory_proto::rr::rdata::NS(host)),
            ));
        }
        return reply.to_vec().ok();
    }
    if builder.cname_loop.iter().any(|r| r == name) {
        let mut reply = reply_to(request, ResponseCode::NoError, recursion);
        let here = query.name().clone();
        let there = Name::from_ascii(format!("loop.{name}.")).expect("loop name");
        for (from, to) in [(here.clone(), there.clone()), (there, here)] {
            reply.answers.push(Record::from_rdata(
                from,
                300,
                RData::CNAME(hickory_proto::rr::rdata::CNAME(to)),
            ));
        }
        return reply.to_vec().ok();
    }
    let answer = if over_tcp {
        forward_tcp(front.authority, packet).await?
    } else {
        forward_udp(front.authority, packet).await?
    };
    let mut message = Message::from_vec(&answer).ok()?;
    message.metadata.recursion_available = recursion;
    message.to_vec().ok()
}

async fn forward_udp(authority: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let upstream = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    upstream.send_to(packet, authority).await.ok()?;
    let mut answer = vec![0u8; 65_535];
    match tokio::time::timeout(Duration::from_secs(5), upstream.recv(&mut answer)).await {
        Ok(Ok(len)) => Some(answer[..len].to_vec()),
        _ => None,
    }
}

async fn forward_tcp(authority: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let work = async {
        let mut stream = TcpStream::connect(authority).await.ok()?;
        let length = u16::try_from(packet.len()).ok()?;
        stream.write_all(&length.to_be_bytes()).await.ok()?;
        stream.write_all(packet).await.ok()?;
        let mut prefix = [0u8; 2];
        stream.read_exact(&mut prefix).await.ok()?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        stream.read_exact(&mut answer).await.ok()?;
        Some(answer)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .ok()
        .flatten()
}

/// Zone text for `origin` with an SOA, an NS and these records (relative or absolute names).
pub(crate) fn zone_text(origin: &str, records: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 3600\n@ IN SOA ns1.{origin}. hostmaster.{origin}. ( 1 7200 900 1209600 600 )\n@ IN NS ns1.{origin}.\n{records}\n"
    )
}
