//! Real DNS on loopback for tests and the DNS benchmark.
//!
//! A [`DnsFixture`] owns a multi-threaded tokio runtime running an in-process `hickory-server`
//! authority (zone files from `tests/fixtures/dns/`) behind a small UDP front. The front is the
//! address the code under test talks to: it counts every query per (name, type), and can
//! answer SERVFAIL, stay silent (timeouts) or answer NXDOMAIN for every name (a lying
//! resolver), for chosen names or for all of them, and delay answers. It can also go silent
//! for good after answering its first N queries (a resolver dying half-way). It also records
//! how many queries were waiting for their answer at once, at most.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
}

/// Builds a [`DnsFixture`].
#[derive(Debug, Clone)]
pub(crate) struct DnsFixtureBuilder {
    mode: Mode,
    zone_dir: Option<std::path::PathBuf>,
    extra_zones: Vec<String>,
    servfail: Vec<String>,
    silent: Vec<String>,
    delay: Duration,
    answer_first: Option<usize>,
}

impl DnsFixtureBuilder {
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
            silent: Vec::new(),
            delay: Duration::ZERO,
            answer_first: None,
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
            let mut server = Server::new(catalog);
            server.register_socket(authority_socket);

            let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind front"));
            let addr = front.local_addr().expect("front addr");
            tokio::spawn(front_loop(
                front,
                authority,
                builder,
                counts.clone(),
                in_flight.clone(),
            ));
            (addr, server)
        });
        DnsFixture {
            addr,
            counts,
            in_flight,
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

    /// Forgets the counts so far (the most in flight too).
    pub(crate) fn reset_counts(&self) {
        self.counts.lock().expect("counts").clear();
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

/// One query in flight, from its arrival until its task ends (answered, dropped or silent).
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

async fn front_loop(
    front: Arc<UdpSocket>,
    authority: SocketAddr,
    builder: DnsFixtureBuilder,
    counts: Arc<Mutex<Counts>>,
    in_flight: Arc<InFlight>,
) {
    let builder = Arc::new(builder);
    let mut received = 0usize;
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((len, client)) = front.recv_from(&mut buffer).await else {
            return;
        };
        let packet = buffer[..len].to_vec();
        let Ok(request) = Message::from_vec(&packet) else {
            continue;
        };
        let Some(query) = request.queries.first() else {
            continue;
        };
        let name = query
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        *counts
            .lock()
            .expect("counts")
            .entry((name.clone(), query.query_type()))
            .or_default() += 1;
        received += 1;
        let gone_silent = builder.answer_first.is_some_and(|n| received > n);
        let builder = builder.clone();
        let front = front.clone();
        let guard = InFlightGuard::new(in_flight.clone());
        tokio::spawn(async move {
            let _guard = guard;
            if !builder.delay.is_zero() {
                tokio::time::sleep(builder.delay).await;
            }
            let error = |code| {
                let mut reply =
                    Message::error_msg(request.metadata.id, request.metadata.op_code, code);
                reply.metadata.message_type = MessageType::Response;
                reply.metadata.recursion_desired = request.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                reply.queries = request.queries.clone();
                reply.to_vec().expect("encode reply")
            };
            let reply =
                if gone_silent || builder.mode == Mode::Silent || builder.silent.contains(&name) {
                    return;
                } else if builder.mode == Mode::ServFail || builder.servfail.contains(&name) {
                    error(ResponseCode::ServFail)
                } else if builder.mode == Mode::NxDomainAll {
                    error(ResponseCode::NXDomain)
                } else if builder.mode == Mode::SyntheticMx {
                    let mut reply = Message::error_msg(
                        request.metadata.id,
                        request.metadata.op_code,
                        ResponseCode::NoError,
                    );
                    reply.metadata.message_type = MessageType::Response;
                    reply.metadata.authoritative = true;
                    reply.metadata.recursion_desired = request.metadata.recursion_desired;
                    reply.metadata.recursion_available = true;
                    reply.queries = request.queries.clone();
                    let query = &request.queries[0];
                    if query.query_type() == RecordType::MX {
                        let exchange = Name::from_ascii(format!("mx.{name}.")).expect("mx name");
                        reply.answers.push(Record::from_rdata(
                            query.name().clone(),
                            300,
                            RData::MX(MX::new(10, exchange)),
                        ));
                    }
                    reply.to_vec().expect("encode reply")
                } else {
                    let Ok(upstream) = UdpSocket::bind("127.0.0.1:0").await else {
                        return;
                    };
                    if upstream.send_to(&packet, authority).await.is_err() {
                        return;
                    }
                    let mut answer = vec![0u8; 4096];
                    match tokio::time::timeout(Duration::from_secs(5), upstream.recv(&mut answer))
                        .await
                    {
                        Ok(Ok(len)) => answer[..len].to_vec(),
                        _ => return,
                    }
                };
            let _ = front.send_to(&reply, client).await;
        });
    }
}

/// Zone text for `origin` with an SOA, an NS and these records (relative or absolute names).
pub(crate) fn zone_text(origin: &str, records: &str) -> String {
    format!(
        "$ORIGIN {origin}.\n$TTL 3600\n@ IN SOA ns1.{origin}. hostmaster.{origin}. ( 1 7200 900 1209600 600 )\n@ IN NS ns1.{origin}.\n{records}\n"
    )
}
