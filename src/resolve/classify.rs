//! Pure classification: MX records → [`DomainInfo`], unusable MX hosts, parking services and
//! mailbox providers. Never touches the network.

use std::net::IpAddr;

use super::{DomainInfo, DomainStatus};

/// Mailbox providers, recognised by the registrable suffix of an MX host.
/// First match wins; more specific suffixes come first.
const PROVIDERS: &[(&str, &str)] = &[
    ("google.com", "google"),
    ("googlemail.com", "google"),
    ("protection.outlook.com", "microsoft"),
    ("outlook.com", "microsoft"),
    ("hotmail.com", "microsoft"),
    ("yahoodns.net", "yahoo"),
    ("icloud.com", "apple"),
    ("me.com", "apple"),
    ("zoho.com", "zoho"),
    ("zoho.eu", "zoho"),
    ("zohomail.com", "zoho"),
    ("protonmail.ch", "proton"),
    ("mimecast.com", "mimecast"),
    ("mimecast.co.za", "mimecast"),
    ("pphosted.com", "proofpoint"),
    ("ppe-hosted.com", "proofpoint"),
    ("messagingengine.com", "fastmail"),
    ("yandex.net", "yandex"),
    ("yandex.ru", "yandex"),
    ("gmx.net", "gmx"),
    ("web.de", "gmx"),
    ("barracudanetworks.com", "barracuda"),
    ("mail.ru", "mailru"),
    ("aol.com", "yahoo"),
    ("secureserver.net", "godaddy"),
    ("emailsrvr.com", "rackspace"),
    ("ionos.com", "ionos"),
    ("ionos.de", "ionos"),
    ("kundenserver.de", "ionos"),
    ("ovh.net", "ovh"),
    ("mailgun.org", "mailgun"),
    ("amazonaws.com", "amazon_ses"),
    ("qq.com", "tencent"),
    ("163.com", "netease"),
];

/// Every provider name [`provider_of`] can return (for restoring cached entries).
pub(crate) fn provider_name(name: &str) -> Option<&'static str> {
    PROVIDERS.iter().map(|(_, p)| *p).find(|p| *p == name)
}

/// Returns true if and only if `host` is `suffix` or a subdomain of it.
pub(crate) fn host_matches(host: &str, suffix: &str) -> bool {
    let suffix = suffix.trim_end_matches('.').to_ascii_lowercase();
    host == suffix
        || host
            .strip_suffix(suffix.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The mailbox provider behind these (usable) MX hosts: the provider of the most preferred
/// host that has one.
pub(crate) fn provider_of<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    hosts.into_iter().find_map(|host| {
        PROVIDERS
            .iter()
            .find(|(suffix, _)| host_matches(host, suffix))
            .map(|(_, name)| *name)
    })
}

/// Why an MX host cannot receive mail, or `None` when it looks usable.
///
/// `localhost` (and names under it), the special-use `.invalid`, `.local`, `.test`,
/// `.example` trees, and IP addresses written as host names that are not globally routable.
pub(crate) fn unusable_host(host: &str) -> Option<&'static str> {
    if host.is_empty() {
        return Some("root");
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Some("localhost");
    }
    for tld in [
        "invalid",
        "local",
        "test",
        "example",
        "internal",
        "home.arpa",
    ] {
        if host == tld || host.ends_with(&format!(".{tld}")) {
            return Some("special-use name");
        }
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some(if is_routable(ip) {
            "IP address as a host name"
        } else {
            "unroutable IP"
        });
    }
    if !host.contains('.') {
        return Some("single-label name");
    }
    None
}

/// Returns true if and only if `ip` is a globally routable unicast address.
pub(crate) fn is_routable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // CGNAT, RFC 6598
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                && v6.to_ipv4_mapped().is_none_or(|v4| is_routable(IpAddr::V4(v4)))
        }
    }
}

/// The parking service among `hosts`, if any (the entry of `parking` that matched).
pub(crate) fn parking_service<'a>(hosts: &[String], parking: &'a [String]) -> Option<&'a str> {
    hosts.iter().find_map(|host| {
        parking
            .iter()
            .find(|suffix| host_matches(host, suffix))
            .map(String::as_str)
    })
}

/// Normalises a DNS name for storage: lower-case, no trailing dot (the root becomes `""`).
pub(crate) fn normalise_host(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Classifies a non-empty MX answer (`(preference, host)`, hosts normalised).
pub(crate) fn classify_mx(
    mut records: Vec<(u16, String)>,
    parking: &[String],
    via_cname: Option<&str>,
) -> DomainInfo {
    records.sort();
    records.dedup();
    let via = via_cname
        .map(|target| format!(" (via CNAME {target})"))
        .unwrap_or_default();
    // RFC 7505: a null MX is a single `0 .`; a root exchange among real hosts is ignored.
    if records.iter().all(|(_, host)| host.is_empty()) {
        let detail = match records.as_slice() {
            [(0, _)] => format!("null MX (MX 0 .){via}"),
            [(preference, _)] => format!(
                "MX {preference} . (a root mail host: accepts no mail, though RFC 7505's null MX is MX 0 .){via}"
            ),
            _ => format!(
                "MX {} (only root mail hosts: accepts no mail){via}",
                records
                    .iter()
                    .map(|(preference, _)| format!("{preference} ."))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        return DomainInfo {
            status: DomainStatus::NullMx,
            mx_hosts: Vec::new(),
            parked: false,
            provider: None,
            detail,
        };
    }
    records.retain(|(_, host)| !host.is_empty());
    let (usable, unusable): (Vec<_>, Vec<_>) = records
        .iter()
        .partition(|(_, host)| unusable_host(host).is_none());
    let mx_hosts: Vec<String> = records.iter().map(|(_, host)| host.clone()).collect();
    let usable_hosts: Vec<String> = usable.iter().map(|(_, host)| host.clone()).collect();
    let parked = parking_service(&usable_hosts, parking);
    let provider = provider_of(usable_hosts.iter().map(String::as_str));
    if usable.is_empty() {
        let listed = describe(&unusable, 3);
        let why = unusable_host(&unusable[0].1).unwrap_or("unusable");
        return DomainInfo {
            status: DomainStatus::NoMx,
            mx_hosts,
            parked: false,
            provider: None,
            detail: format!("MX {listed}{via}: no usable mail host ({why})"),
        };
    }
    let mut detail = format!("MX {}{via}", describe(&usable, 3));
    if !unusable.is_empty() {
        detail.push_str(&format!(
            " (ignored unusable MX {})",
            describe(&unusable, 2)
        ));
    }
    if let Some(service) = parked {
        detail.push_str(&format!(
            "; parked domain (MX at parking service {service})"
        ));
    }
    DomainInfo {
        status: DomainStatus::Ok,
        mx_hosts,
        parked: parked.is_some(),
        provider,
        detail,
    }
}

/// `10 mx1.a.com, 20 mx2.a.com (+3 more)`.
fn describe(records: &[&(u16, String)], at_most: usize) -> String {
    let mut text = records
        .iter()
        .take(at_most)
        .map(|(preference, host)| format!("{preference} {host}"))
        .collect::<Vec<_>>()
        .join(", ");
    if records.len() > at_most {
        text.push_str(&format!(" (+{} more)", records.len() - at_most));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parking() -> Vec<String> {
        vec!["sedoparking.com".into(), "parkingcrew.net".into()]
    }

    #[test]
    fn mx_sorted_by_preference_then_name() {
        let info = classify_mx(
            vec![
                (20, "b.acme.com".into()),
                (10, "z.acme.com".into()),
                (10, "a.acme.com".into()),
            ],
            &parking(),
            None,
        );
        assert_eq!(info.status, DomainStatus::Ok);
        assert_eq!(info.mx_hosts, ["a.acme.com", "z.acme.com", "b.acme.com"]);
        assert_eq!(
            info.detail,
            "MX 10 a.acme.com, 10 z.acme.com, 20 b.acme.com"
        );
    }

    #[test]
    fn null_mx_and_root_among_hosts() {
        let info = classify_mx(vec![(0, String::new())], &parking(), None);
        assert_eq!(info.status, DomainStatus::NullMx);
        assert_eq!(info.detail, "null MX (MX 0 .)");
        // See: #15 part 6
        let info = classify_mx(vec![(10, String::new())], &parking(), None);
        assert_eq!(info.status, DomainStatus::NullMx);
        assert_eq!(
            info.detail,
            "MX 10 . (a root mail host: accepts no mail, though RFC 7505's null MX is MX 0 .)"
        );
        let info = classify_mx(
            vec![(0, String::new()), (10, "mx.a.com".into())],
            &parking(),
            None,
        );
        assert_eq!(info.status, DomainStatus::Ok);
    }

    #[test]
    fn unusable_hosts_mean_no_mail_unless_others_exist() {
        for host in [
            "localhost",
            "127.0.0.1",
            "10.1.2.3",
            "mail.localhost",
            "0.0.0.0",
            "::1",
            "mx",
        ] {
            let info = classify_mx(vec![(10, host.into())], &parking(), None);
            assert_eq!(info.status, DomainStatus::NoMx, "{host}");
            assert!(
                info.detail.contains("no usable mail host"),
                "{}",
                info.detail
            );
        }
        let info = classify_mx(
            vec![(10, "localhost".into()), (20, "mx.acme.com".into())],
            &parking(),
            None,
        );
        assert_eq!(info.status, DomainStatus::Ok);
        assert!(
            info.detail.contains("ignored unusable MX 10 localhost"),
            "{}",
            info.detail
        );
    }

    #[test]
    fn parked_and_providers() {
        let info = classify_mx(vec![(10, "mx.sedoparking.com".into())], &parking(), None);
        assert!(info.parked);
        assert!(
            info.detail.contains("parking service sedoparking.com"),
            "{}",
            info.detail
        );
        assert!(!host_matches("notsedoparking.com", "sedoparking.com"));
        let google = classify_mx(
            vec![(5, "gmail-smtp-in.l.google.com".into())],
            &parking(),
            None,
        );
        assert_eq!(google.provider, Some("google"));
        assert_eq!(
            provider_of(["acme-com.mail.protection.outlook.com"]),
            Some("microsoft")
        );
        assert_eq!(
            provider_of(["mx1.acme.com.pphosted.com"]),
            Some("proofpoint")
        );
        assert_eq!(
            provider_of(["in1-smtp.messagingengine.com"]),
            Some("fastmail")
        );
        assert_eq!(provider_of(["mta5.am0.yahoodns.net"]), Some("yahoo"));
        assert_eq!(provider_of(["mx.acme.com"]), None);
        assert_eq!(provider_name("google"), Some("google"));
    }

    #[test]
    fn routability() {
        assert!(is_routable("8.8.8.8".parse().unwrap()));
        assert!(is_routable("2a00:1450::1".parse().unwrap()));
        for ip in [
            "127.0.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_routable(ip.parse().unwrap()), "{ip}");
        }
    }
}
