//! Reading one DNS reply: is it an answer, a proper negative, or something that must not
//! decide anything (issue 15, part 3)?
//!
//! Consumes a decoded reply and the question asked; produces a [`Verdict`]. Only real answers
//! decide: records of the asked type (following CNAMEs within the answer, bounded, loops
//! detected), NXDOMAIN, or NODATA carrying the zone's SOA, from a server that offers recursion
//! (RA flag). A referral (no answer, only NS in the authority section), a negative from a
//! server without recursion, or an empty answer without SOA is [`Verdict::Unusable`]. Never
//! touches the network.

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::classify::normalise_host;

/// Most CNAMEs followed for one question, across the answers of every query it took
/// (RFC 1034 §3.6.2 asks resolvers to bound chains; 8 is what common resolvers allow).
pub(crate) const MAX_CNAME_CHAIN: usize = 8;

/// What one reply says about the question.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Records of the asked type at the end of the CNAME chain, and the smallest TTL.
    Records { records: Vec<RData>, ttl: u32 },
    /// NXDOMAIN (for the end of the chain), with the negative TTL from the SOA if any.
    NxDomain(Option<u32>),
    /// NODATA with the zone's SOA: the name exists, without records of this type.
    NoData(Option<u32>),
    /// The chain leaves this answer: ask for its end ([`Chain::end`]) next.
    Follow,
    /// A reply that decides nothing (referral, lame, no recursion): the detail.
    Unusable(String),
    /// An error code (SERVFAIL, REFUSED, NOTIMP, FORMERR, …): ask the next server.
    Code(ResponseCode),
}

/// A CNAME chain being followed: the names seen and the smallest TTL along it.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    /// Every name of the chain, the asked one first.
    pub(crate) names: Vec<Name>,
    /// The smallest CNAME TTL.
    pub(crate) ttl: Option<u32>,
    /// The chain loops back on itself (the detail), or is longer than [`MAX_CNAME_CHAIN`].
    pub(crate) broken: Option<String>,
    /// The chain loops (as opposed to being too long).
    pub(crate) looped: bool,
}

impl Chain {
    /// A chain starting at `name`.
    pub(crate) fn new(name: &Name) -> Chain {
        Chain {
            names: vec![name.clone()],
            ..Chain::default()
        }
    }

    /// The last name of the chain (the one whose records are wanted).
    pub(crate) fn end(&self) -> &Name {
        &self.names[self.names.len() - 1]
    }

    /// The target of the first CNAME, normalised, when the chain has one.
    pub(crate) fn first_target(&self) -> Option<String> {
        self.names.get(1).map(|n| normalise_host(&n.to_ascii()))
    }

    fn describe(&self) -> String {
        self.names
            .iter()
            .map(|n| normalise_host(&n.to_ascii()))
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// Adds a CNAME step; false (and `broken` set) on a loop or a chain too long.
    fn push(&mut self, target: Name, ttl: u32) -> bool {
        self.ttl = Some(self.ttl.map_or(ttl, |t| t.min(ttl)));
        let looped = self.names.contains(&target);
        self.names.push(target);
        if looped {
            self.looped = true;
            self.broken = Some(format!("CNAME loop {}", self.describe()));
            return false;
        }
        if self.names.len() > MAX_CNAME_CHAIN + 1 {
            self.broken = Some(format!(
                "CNAME chain longer than {MAX_CNAME_CHAIN} ({} …)",
                self.names[..3]
                    .iter()
                    .map(|n| normalise_host(&n.to_ascii()))
                    .collect::<Vec<_>>()
                    .join(" → ")
            ));
            return false;
        }
        true
    }
}

/// Reads `reply` to the question (`chain.end()`, `record_type`), extending `chain` with the
/// CNAMEs found in its answer section.
pub(crate) fn interpret(reply: &Message, record_type: RecordType, chain: &mut Chain) -> Verdict {
    let code = reply.metadata.response_code;
    if code != ResponseCode::NoError && code != ResponseCode::NXDomain {
        return Verdict::Code(code);
    }
    let before = chain.names.len();
    // Follow the chain within this answer.
    while let Some((target, ttl)) = reply.answers.iter().find_map(|r| match &r.data {
        RData::CNAME(target) if r.name == *chain.end() && record_type != RecordType::CNAME => {
            Some((target.0.clone(), r.ttl))
        }
        _ => None,
    }) {
        if !chain.push(target, ttl) {
            return Verdict::Unusable(chain.broken.clone().unwrap_or_default());
        }
    }
    let end = chain.end().clone();
    let mut ttl = chain.ttl.unwrap_or(u32::MAX);
    let records: Vec<RData> = reply
        .answers
        .iter()
        .filter(|r| r.name == end && r.data.record_type() == record_type)
        .map(|r| {
            ttl = ttl.min(r.ttl);
            r.data.clone()
        })
        .collect();
    let recursive = reply.metadata.recursion_available;
    if !records.is_empty() {
        if !recursive && !reply.metadata.authoritative {
            return Verdict::Unusable(
                "answer from a server that neither offers recursion nor is authoritative (lame)"
                    .into(),
            );
        }
        return Verdict::Records { records, ttl };
    }
    let soa_ttl = reply.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
        _ => None,
    });
    let has_ns = reply
        .authorities
        .iter()
        .any(|r| r.data.record_type() == RecordType::NS);
    if code == ResponseCode::NoError && soa_ttl.is_none() && has_ns {
        let zone = reply
            .authorities
            .iter()
            .find(|r| r.data.record_type() == RecordType::NS)
            .map(|r| normalise_host(&r.name.to_ascii()))
            .unwrap_or_default();
        return Verdict::Unusable(format!(
            "referral to the name servers of {zone}, not an answer (the server does not resolve recursively)"
        ));
    }
    if chain.names.len() > before && code == ResponseCode::NoError && soa_ttl.is_none() {
        // The server answered the CNAME but not its target (another zone): ask for it.
        return Verdict::Follow;
    }
    if !recursive {
        return Verdict::Unusable(
            "negative answer from a server that does not offer recursion (RA flag clear): not believed"
                .into(),
        );
    }
    if code == ResponseCode::NXDomain {
        return Verdict::NxDomain(soa_ttl);
    }
    match soa_ttl {
        Some(ttl) => Verdict::NoData(Some(ttl)),
        None => Verdict::Unusable("empty answer without the zone's SOA (lame answer)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{Message, MessageType, OpCode};
    use hickory_resolver::proto::rr::Record;
    use hickory_resolver::proto::rr::rdata::{CNAME, NS};

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn reply(recursion: bool) -> Message {
        let mut reply = Message::new(1, MessageType::Response, OpCode::Query);
        reply.metadata.recursion_available = recursion;
        reply
    }

    // See: #15 part 5
    #[test]
    fn a_cname_chain_is_bounded() {
        let mut message = reply(true);
        for i in 0..=MAX_CNAME_CHAIN {
            message.answers.push(Record::from_rdata(
                name(&format!("c{i}.example.org.")),
                60,
                RData::CNAME(CNAME(name(&format!("c{}.example.org.", i + 1)))),
            ));
        }
        let mut chain = Chain::new(&name("c0.example.org."));
        match interpret(&message, RecordType::MX, &mut chain) {
            Verdict::Unusable(detail) => {
                assert!(detail.starts_with("CNAME chain longer than 8"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!chain.looped);
    }

    // See: #15 part 3
    #[test]
    fn only_ns_in_the_authority_section_is_a_referral_even_with_recursion() {
        let mut message = reply(true);
        message.authorities.push(Record::from_rdata(
            name("acme.example."),
            3600,
            RData::NS(NS(name("ns1.provider.example."))),
        ));
        let mut chain = Chain::new(&name("acme.example."));
        match interpret(&message, RecordType::MX, &mut chain) {
            Verdict::Unusable(detail) => assert!(detail.starts_with("referral"), "{detail}"),
            other => panic!("{other:?}"),
        }
        // An empty answer with neither SOA nor NS is lame, not NODATA.
        let mut chain = Chain::new(&name("acme.example."));
        match interpret(&reply(true), RecordType::MX, &mut chain) {
            Verdict::Unusable(detail) => assert!(detail.contains("without the zone's SOA")),
            other => panic!("{other:?}"),
        }
    }
}
