//! Unit tests of the domain checker's pieces that need no network.

use super::*;

#[test]
fn checker_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<DomainChecker>();
    assert_send::<DnsStats>();
}

#[test]
fn warnings_are_given_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let warner = Warner::new(Arc::new(move |w: &str| {
        sink.lock().unwrap().push(w.to_string())
    }));
    warner.warn("a");
    warner.warn("b");
    warner.warn("a");
    assert_eq!(*seen.lock().unwrap(), ["a", "b"]);
    assert_eq!(warner.given(), ["a", "b"]);
}

#[test]
fn no_cache_and_no_network_until_asked() {
    let options = DnsOptions {
        servers: vec!["127.0.0.1:9".parse().unwrap()],
        cache: CacheLocation::Off,
        ..DnsOptions::default()
    };
    let checker = DomainChecker::new(&options, &DnsRules::default(), Arc::new(|_| {})).unwrap();
    let stats = checker.finish();
    assert_eq!((stats.lookups, stats.cache_hits), (0, 0));
    assert!(stats.resolver_trusted);
    assert!(stats.warnings.is_empty());
}
