//! The profile table: one definition per column (name, type, merge rule, SQL aggregate), from
//! which the Parquet schema ([`super::parquet`]), the merge ([`super::merge`]) and the SQL
//! ([`super::sql`]) are all derived, so that they cannot drift apart.
//!
//! Consumes and produces [`Stored`] profiles: a [`Profile`] whose `sends` and
//! `sends_since_engagement` hold the raw `sent` counts, plus the deliveries since engagement.
//! Whether deliveries stand in for sends is decided when profiles are loaded, across every
//! profile file ([`Stored::into_profile`]), so that shards merge exactly. Never reads a file.

use crate::engagement::Profile;

/// A column's type in the Parquet file and in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A count: Int64, never null.
    Count,
    /// A count that may be unknown: Int64, null when unknown.
    MaybeCount,
    /// Unix seconds (UTC): Int64, null when there was no such event.
    Time,
    /// An SMTP code: String, null when none.
    Code,
    /// Boolean, never null.
    Flag,
}

/// How two profiles of one address combine: `a` holds events strictly before every event
/// of `b` (time-ordered shards; address-disjoint shards never combine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// `a + b`.
    Sum,
    /// The earlier time (null is no time).
    Min,
    /// The later time (null is no time).
    Max,
    /// Deliveries after the last hard bounce: `b`'s when `b` has a hard bounce, else `a`'s
    /// plus `b`'s deliveries when `a` has one, else 0.
    AfterLastHardBounce,
    /// Sends (or deliveries) since the last human open or click: `b`'s when `b` has human
    /// engagement, else `a + b` (`b`'s are all of its own then). Null when either is null.
    SinceEngagement,
    /// Soft bounces after the last delivery: `b`'s when `b` has a delivery, else `a + b`.
    SinceLastDelivery,
    /// A property of the last hard bounce: `b`'s when `b` has a hard bounce, else `a`'s.
    OfLastHardBounce,
}

impl Merge {
    /// The rule's name in the README's table.
    pub fn describe(self) -> &'static str {
        match self {
            Merge::Sum => "sum",
            Merge::Min => "min",
            Merge::Max => "max",
            Merge::AfterLastHardBounce => {
                "later shard's if it has a hard bounce, else earlier + later `deliveries` (0 with no hard bounce)"
            }
            Merge::SinceEngagement => {
                "later shard's if it has human engagement, else sum (null if either is null)"
            }
            Merge::SinceLastDelivery => "later shard's if it has a delivery, else sum",
            Merge::OfLastHardBounce => "later shard's if it has a hard bounce, else earlier's",
        }
    }
}

/// One cell of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// [`Kind::Count`], [`Kind::MaybeCount`] and [`Kind::Time`].
    Int(Option<i64>),
    /// [`Kind::Code`].
    Text(Option<String>),
    /// [`Kind::Flag`].
    Flag(bool),
}

/// A profile as stored: raw counts, mergeable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The fields; `sends` holds `sent` events only and `sends_since_engagement` the `sent`
    /// events since engagement.
    pub profile: Profile,
    /// Deliveries since the last human engagement (all when none). `None` when the logs the
    /// profile came from hold `sent` events: then deliveries never stand in for sends.
    pub delivered_since_engagement: Option<u64>,
}

impl Stored {
    /// The profile the rules evaluate: `uses_sent` says whether any profile file counted a
    /// `sent` event (or none counted a delivery); otherwise deliveries stand in for sends.
    pub fn into_profile(self, uses_sent: bool) -> Profile {
        let mut profile = self.profile;
        if !uses_sent {
            profile.sends = profile.deliveries;
            profile.sends_since_engagement = self.delivered_since_engagement.unwrap_or(0);
        }
        profile
    }

    /// The stored form of a profile loaded from logs whose sends were counted from `sent`
    /// events (`from_sent`) or deliveries; `any_sent`: the logs hold a `sent` event.
    pub fn from_profile(profile: &Profile, from_sent: bool, any_sent: bool) -> Stored {
        let mut stored = Stored {
            profile: profile.clone(),
            delivered_since_engagement: (!any_sent).then_some(profile.sends_since_engagement),
        };
        if !from_sent {
            stored.profile.sends = 0;
            stored.profile.sends_since_engagement = 0;
        }
        stored
    }
}

/// One column of the profile table.
pub struct Field {
    /// The column name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// How shards combine.
    pub merge: Merge,
    /// The SQL aggregate over the rows of one address (see [`super::sql`] for the columns
    /// it may use).
    pub sql: &'static str,
    /// What it holds (the README's table).
    pub doc: &'static str,
    /// Reads the cell.
    pub get: fn(&Stored) -> Cell,
    /// Writes the cell (a cell of the wrong type or a negative count leaves the field as
    /// it is and returns false).
    pub set: fn(&mut Stored, Cell) -> bool,
}

fn count(value: u64) -> Cell {
    Cell::Int(Some(i64::try_from(value).unwrap_or(i64::MAX)))
}

fn to_count(cell: &Cell) -> Option<u64> {
    match cell {
        Cell::Int(Some(v)) => u64::try_from(*v).ok(),
        _ => None,
    }
}

macro_rules! field {
    (count $name:ident, $merge:ident, $sql:literal, $doc:literal) => {
        Field {
            name: stringify!($name),
            kind: Kind::Count,
            merge: Merge::$merge,
            sql: $sql,
            doc: $doc,
            get: |s| count(s.profile.$name),
            set: |s, c| to_count(&c).map(|v| s.profile.$name = v).is_some(),
        }
    };
    (time $name:ident, $merge:ident, $sql:literal, $doc:literal) => {
        Field {
            name: stringify!($name),
            kind: Kind::Time,
            merge: Merge::$merge,
            sql: $sql,
            doc: $doc,
            get: |s| Cell::Int(s.profile.$name),
            set: |s, c| match c {
                Cell::Int(v) => {
                    s.profile.$name = v;
                    true
                }
                _ => false,
            },
        }
    };
}

/// Every column after `email`, in file order. Each field of [`Profile`] is one column (a test
/// ties the two); `sends` is stored as `sent`, `sends_since_engagement` as
/// `sent_since_engagement`, and `delivered_since_engagement` is added.
pub static FIELDS: &[Field] = &[
    Field {
        name: "sent",
        kind: Kind::Count,
        merge: Merge::Sum,
        sql: "COUNT(CASE WHEN event = 'sent' THEN 1 END)",
        doc: "`sent` events",
        get: |s| count(s.profile.sends),
        set: |s, c| to_count(&c).map(|v| s.profile.sends = v).is_some(),
    },
    field!(count deliveries, Sum, "COUNT(CASE WHEN event = 'delivered' THEN 1 END)", "`delivered` events"),
    field!(time last_human_open, Max, "MAX(CASE WHEN human_open THEN ts END)", "the last open not marked `machine`"),
    field!(time last_human_click, Max, "MAX(CASE WHEN human_click THEN ts END)", "the last click neither marked `machine` nor a link scanner's"),
    field!(count hard_bounces, Sum, "COUNT(CASE WHEN event = 'hard_bounce' THEN 1 END)", "hard bounces"),
    field!(time first_hard_bounce, Min, "MIN(CASE WHEN event = 'hard_bounce' THEN ts END)", "the first hard bounce"),
    field!(time last_hard_bounce, Max, "MAX(CASE WHEN event = 'hard_bounce' THEN ts END)", "the last hard bounce"),
    field!(count deliveries_after_last_hard_bounce, AfterLastHardBounce, "COUNT(CASE WHEN event = 'delivered' AND ts > last_hard_bounce_all THEN 1 END)", "deliveries strictly after the last hard bounce"),
    field!(count soft_bounces, Sum, "COUNT(CASE WHEN event = 'soft_bounce' THEN 1 END)", "soft bounces"),
    field!(time last_soft_bounce, Max, "MAX(CASE WHEN event = 'soft_bounce' THEN ts END)", "the last soft bounce"),
    field!(count soft_bounce_streak, SinceLastDelivery, "COUNT(CASE WHEN event = 'soft_bounce' AND (last_delivery_all IS NULL OR ts > last_delivery_all) THEN 1 END)", "soft bounces strictly after the last delivery (all when none)"),
    field!(time last_delivery, Max, "MAX(CASE WHEN event = 'delivered' THEN ts END)", "the last delivery"),
    Field {
        name: "last_hard_bounce_code",
        kind: Kind::Code,
        merge: Merge::OfLastHardBounce,
        sql: "MAX(CASE WHEN event = 'hard_bounce' AND ts = last_hard_bounce_all THEN bounce_code END)",
        doc: "the SMTP code of the last hard bounce (`5.1.1`, `550`), null when none",
        get: |s| Cell::Text(s.profile.last_hard_bounce_code.clone()),
        set: |s, c| match c {
            Cell::Text(v) => {
                s.profile.last_hard_bounce_code = v;
                true
            }
            _ => false,
        },
    },
    Field {
        name: "last_hard_bounce_relabelled",
        kind: Kind::Flag,
        merge: Merge::OfLastHardBounce,
        sql: "MAX(CASE WHEN event = 'hard_bounce' AND ts = last_hard_bounce_all AND relabelled THEN 1 ELSE 0 END) = 1",
        doc: "the last hard bounce's code overrode the service's label",
        get: |s| Cell::Flag(s.profile.last_hard_bounce_relabelled),
        set: |s, c| match c {
            Cell::Flag(v) => {
                s.profile.last_hard_bounce_relabelled = v;
                true
            }
            _ => false,
        },
    },
    field!(count sender_blocks, Sum, "COUNT(CASE WHEN event = 'sender_block' THEN 1 END)", "bounces of the sender (policy, reputation, content)"),
    field!(count complaints, Sum, "COUNT(CASE WHEN event = 'complaint' THEN 1 END)", "complaints"),
    field!(time first_complaint, Min, "MIN(CASE WHEN event = 'complaint' THEN ts END)", "the first complaint"),
    field!(count unsubscribes, Sum, "COUNT(CASE WHEN event = 'unsubscribe' THEN 1 END)", "unsubscribes"),
    field!(time first_unsubscribe, Min, "MIN(CASE WHEN event = 'unsubscribe' THEN ts END)", "the first unsubscribe"),
    Field {
        name: "sent_since_engagement",
        kind: Kind::Count,
        merge: Merge::SinceEngagement,
        sql: "COUNT(CASE WHEN event = 'sent' AND (last_engagement_all IS NULL OR ts > last_engagement_all) THEN 1 END)",
        doc: "`sent` events strictly after the last human open or click (all when none)",
        get: |s| count(s.profile.sends_since_engagement),
        set: |s, c| {
            to_count(&c)
                .map(|v| s.profile.sends_since_engagement = v)
                .is_some()
        },
    },
    Field {
        name: "delivered_since_engagement",
        kind: Kind::MaybeCount,
        merge: Merge::SinceEngagement,
        sql: "CASE WHEN MAX(any_sent) = 1 THEN NULL ELSE COUNT(CASE WHEN event = 'delivered' AND (last_engagement_all IS NULL OR ts > last_engagement_all) THEN 1 END) END",
        doc: "deliveries strictly after the last human open or click (all when none); null when the events hold any `sent` event (deliveries then never stand in for sends)",
        get: |s| {
            Cell::Int(
                s.delivered_since_engagement
                    .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            )
        },
        set: |s, c| match c {
            Cell::Int(None) => {
                s.delivered_since_engagement = None;
                true
            }
            c => to_count(&c)
                .map(|v| s.delivered_since_engagement = Some(v))
                .is_some(),
        },
    },
    field!(count machine_events, Sum, "COUNT(CASE WHEN event IN ('open', 'click') AND machine THEN 1 END)", "opens and clicks marked `machine`"),
    field!(count scanner_clicks, Sum, "COUNT(CASE WHEN scanner THEN 1 END)", "clicks with no `machine` value within `scanner_click_seconds` after a delivery"),
    field!(time first_event, Min, "MIN(ts)", "the first event"),
    field!(time last_event, Max, "MAX(ts)", "the last event"),
];

impl Kind {
    /// The column's type as the README's table gives it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Count => "Int64",
            Kind::MaybeCount => "Int64, nullable",
            Kind::Time => "Int64 (Unix s), nullable",
            Kind::Code => "String, nullable",
            Kind::Flag => "Boolean",
        }
    }
}

/// The README's table of the profile columns (a test keeps the README in step).
pub fn markdown_table() -> String {
    let mut table = String::from(
        "| column | type | holds | merge of shards |\n| --- | --- | --- | --- |\n| `email` | String | the normalised address | the key |\n",
    );
    for f in FIELDS {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.name,
            f.kind.describe(),
            f.doc,
            f.merge.describe()
        ));
    }
    table
}

/// The field named `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile with every field set to a distinct value. The destructuring has no `..`:
    /// a new `Profile` field fails to compile here until the table covers it.
    fn every_field_set() -> Stored {
        let profile = Profile {
            sends: 1,
            deliveries: 2,
            last_human_open: Some(3),
            last_human_click: Some(4),
            hard_bounces: 5,
            first_hard_bounce: Some(6),
            last_hard_bounce: Some(7),
            deliveries_after_last_hard_bounce: 8,
            soft_bounces: 9,
            last_soft_bounce: Some(10),
            soft_bounce_streak: 11,
            last_delivery: Some(12),
            last_hard_bounce_code: Some("5.1.1".into()),
            last_hard_bounce_relabelled: true,
            sender_blocks: 13,
            complaints: 14,
            first_complaint: Some(15),
            unsubscribes: 16,
            first_unsubscribe: Some(17),
            sends_since_engagement: 18,
            machine_events: 19,
            scanner_clicks: 20,
            first_event: Some(21),
            last_event: Some(22),
        };
        let Profile {
            sends: _,
            deliveries: _,
            last_human_open: _,
            last_human_click: _,
            hard_bounces: _,
            first_hard_bounce: _,
            last_hard_bounce: _,
            deliveries_after_last_hard_bounce: _,
            soft_bounces: _,
            last_soft_bounce: _,
            soft_bounce_streak: _,
            last_delivery: _,
            last_hard_bounce_code: _,
            last_hard_bounce_relabelled: _,
            sender_blocks: _,
            complaints: _,
            first_complaint: _,
            unsubscribes: _,
            first_unsubscribe: _,
            sends_since_engagement: _,
            machine_events: _,
            scanner_clicks: _,
            first_event: _,
            last_event: _,
        } = &profile;
        Stored {
            profile,
            delivered_since_engagement: Some(23),
        }
    }

    // See: #14 part 1
    #[test]
    fn the_table_covers_every_profile_field() {
        let full = every_field_set();
        let mut copy = Stored::default();
        for field in FIELDS {
            assert!((field.set)(&mut copy, (field.get)(&full)), "{}", field.name);
        }
        assert_eq!(copy, full, "a field of Profile has no column");
        // One column per Profile field, plus delivered_since_engagement.
        assert_eq!(FIELDS.len(), 24 + 1);
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len(), "two columns share a name");
    }

    // See: #14 part 1
    #[test]
    fn the_readme_documents_every_column_and_its_merge_rule() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "the README's profile table is out of date; it should read:\n{table}"
        );
    }

    #[test]
    fn cells_of_the_wrong_type_are_refused() {
        let mut stored = Stored::default();
        for field in FIELDS {
            let wrong = match field.kind {
                Kind::Flag => Cell::Int(Some(1)),
                _ => Cell::Flag(true),
            };
            assert!(!(field.set)(&mut stored, wrong), "{}", field.name);
        }
        assert!(!(field("sent").unwrap().set)(
            &mut stored,
            Cell::Int(Some(-1))
        ));
    }

    #[test]
    fn deliveries_stand_in_only_when_no_file_counted_sends() {
        let stored = every_field_set();
        let p = stored.clone().into_profile(false);
        assert_eq!((p.sends, p.sends_since_engagement), (2, 23));
        let p = stored.into_profile(true);
        assert_eq!((p.sends, p.sends_since_engagement), (1, 18));
    }
}
