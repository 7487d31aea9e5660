//! Merging profiles of shards into the profiles of the whole (issue 14 part 1).
//!
//! Consumes stored profiles with their address and the file they came from; produces one
//! profile per address. Shards merge exactly when they are address-disjoint, or time-disjoint
//! per address (every event of one shard strictly before every event of the next, for that
//! address): the parts of an address are ordered by their first event and combined pairwise
//! with each column's [`Merge`] rule. Overlapping parts are an error naming both files. Never
//! reads or writes a file.

use std::collections::HashMap;
use std::path::PathBuf;

use super::schema::{Cell, FIELDS, Merge, Stored};
use crate::error::{Error, Result};

/// Combines `a` and `b`, where every event of `a` is strictly before every event of `b`.
pub fn merge_pair(a: &Stored, b: &Stored) -> Stored {
    let mut out = Stored::default();
    for field in FIELDS {
        let (x, y) = ((field.get)(a), (field.get)(b));
        let cell = match field.merge {
            Merge::Sum => add(&x, &y),
            Merge::Min => pick(&x, &y, i64::min),
            Merge::Max => pick(&x, &y, i64::max),
            Merge::AfterLastHardBounce => {
                if b.profile.last_hard_bounce.is_some() {
                    y
                } else if a.profile.last_hard_bounce.is_some() {
                    add(&x, &Cell::Int(Some(to_i64(b.profile.deliveries))))
                } else {
                    Cell::Int(Some(0))
                }
            }
            Merge::SinceEngagement => {
                if b.profile.last_engagement().is_some() {
                    y
                } else {
                    add(&x, &y)
                }
            }
            Merge::SinceLastDelivery => {
                if b.profile.last_delivery.is_some() {
                    y
                } else {
                    add(&x, &y)
                }
            }
            Merge::OfLastHardBounce => {
                if b.profile.last_hard_bounce.is_some() {
                    y
                } else {
                    x
                }
            }
        };
        (field.set)(&mut out, cell);
    }
    out
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The sum of two counts (null when either is null).
fn add(x: &Cell, y: &Cell) -> Cell {
    match (x, y) {
        (Cell::Int(Some(x)), Cell::Int(Some(y))) => Cell::Int(Some(x.saturating_add(*y))),
        _ => Cell::Int(None),
    }
}

/// The min or max of two times (null is no time).
fn pick(x: &Cell, y: &Cell, f: fn(i64, i64) -> i64) -> Cell {
    match (x, y) {
        (Cell::Int(Some(x)), Cell::Int(Some(y))) => Cell::Int(Some(f(*x, *y))),
        (Cell::Int(Some(v)), _) | (_, Cell::Int(Some(v))) => Cell::Int(Some(*v)),
        _ => Cell::Int(None),
    }
}

/// The parts of one address: (profile, file index).
type Parts = Vec<(Stored, u32)>;

/// Profiles of several files, merged per address.
#[derive(Debug, Default)]
pub struct Merger {
    files: Vec<PathBuf>,
    parts: HashMap<u128, (Box<str>, Parts)>,
}

impl Merger {
    /// Starts a new file; returns its index for [`Merger::add`].
    pub fn file(&mut self, path: PathBuf) -> u32 {
        self.files.push(path);
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// The files given so far.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Adds the profile of normalised address `email` (key `key`) from file `file`, at
    /// 1-based `row` of it.
    ///
    /// # Errors
    /// When the file already gave this address.
    pub fn add(
        &mut self,
        key: u128,
        email: &str,
        stored: Stored,
        file: u32,
        row: u64,
    ) -> Result<()> {
        let entry = self
            .parts
            .entry(key)
            .or_insert_with(|| (email.into(), Vec::with_capacity(1)));
        if entry.1.iter().any(|(_, f)| *f == file) {
            return Err(self.error(
                file,
                format!(
                    "row {row} repeats the address of an earlier row; a profile file holds one row per normalised address (merge its shards with `listwash profiles --merge`, or fix the query that wrote it)"
                ),
            ));
        }
        entry.1.push((stored, file));
        Ok(())
    }

    fn error(&self, file: u32, message: String) -> Error {
        Error::Profiles {
            path: self.files.get(file as usize).cloned().unwrap_or_default(),
            message,
        }
    }

    /// The merged profiles, with their addresses, sorted by address.
    ///
    /// # Errors
    /// When two files hold events of one address that interleave in time (neither all before
    /// the other), or a profile has no first or last event.
    pub fn finish(self) -> Result<Vec<(Box<str>, Stored)>> {
        let mut out = Vec::with_capacity(self.parts.len());
        for (_, (email, mut parts)) in self.parts {
            if parts.len() == 1 {
                if let Some((stored, _)) = parts.pop() {
                    out.push((email, stored));
                }
                continue;
            }
            for (stored, file) in &parts {
                if stored.profile.first_event.is_none() || stored.profile.last_event.is_none() {
                    return Err(Error::Profiles {
                        path: self.files.get(*file as usize).cloned().unwrap_or_default(),
                        message: "a profile has no first_event or last_event, so its shards cannot be ordered; write first_event and last_event for every profile".into(),
                    });
                }
            }
            parts.sort_by_key(|(s, _)| (s.profile.first_event, s.profile.last_event));
            let mut parts = parts.into_iter();
            let Some((mut merged, mut file)) = parts.next() else {
                continue;
            };
            for (next, next_file) in parts {
                if merged.profile.last_event >= next.profile.first_event {
                    let names = |f: u32| {
                        self.files
                            .get(f as usize)
                            .map_or_else(String::new, |p| p.display().to_string())
                    };
                    return Err(Error::Profiles {
                        path: self
                            .files
                            .get(next_file as usize)
                            .cloned()
                            .unwrap_or_default(),
                        message: format!(
                            "its events of an address overlap in time with those of {}: shards merge only when they split the events by address, or by time (every event of one shard before every event of the next, per address); compute the profiles of overlapping logs together",
                            crate::render::escape_controls(&names(file))
                        ),
                    });
                }
                merged = merge_pair(&merged, &next);
                file = next_file;
            }
            out.push((email, merged));
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engagement::Profile;

    fn stored(profile: Profile) -> Stored {
        Stored {
            profile,
            delivered_since_engagement: Some(0),
        }
    }

    // See: #14 part 1
    #[test]
    fn order_dependent_fields_follow_the_later_shard() {
        // a: two deliveries, no hard bounce; b: one delivery after a hard bounce.
        let a = stored(Profile {
            deliveries: 2,
            last_delivery: Some(20),
            soft_bounce_streak: 1,
            sends_since_engagement: 3,
            first_event: Some(10),
            last_event: Some(20),
            ..Profile::default()
        });
        let b = stored(Profile {
            deliveries: 1,
            hard_bounces: 1,
            last_hard_bounce: Some(30),
            last_hard_bounce_code: Some("5.1.1".into()),
            deliveries_after_last_hard_bounce: 1,
            soft_bounces: 2,
            soft_bounce_streak: 2,
            sends_since_engagement: 4,
            first_event: Some(30),
            last_event: Some(40),
            ..Profile::default()
        });
        let m = merge_pair(&a, &b).profile;
        assert_eq!(m.deliveries, 3);
        assert_eq!(m.deliveries_after_last_hard_bounce, 1);
        // No delivery in b: the streak goes on from a's.
        assert_eq!(m.soft_bounce_streak, 3);
        // No engagement anywhere: every send counts.
        assert_eq!(m.sends_since_engagement, 7);
        assert_eq!(m.last_hard_bounce_code.as_deref(), Some("5.1.1"));
        assert_eq!((m.first_event, m.last_event), (Some(10), Some(40)));
        // Reversed roles: the hard bounce in the earlier shard, deliveries after it.
        let m = merge_pair(&b, &a).profile;
        assert_eq!(m.deliveries_after_last_hard_bounce, 1 + 2);
        // a has a delivery: only its own streak.
        assert_eq!(m.soft_bounce_streak, 1);
        // Neither has a hard bounce: none after one.
        let m = merge_pair(&a, &a).profile;
        assert_eq!(m.deliveries_after_last_hard_bounce, 0);
    }

    #[test]
    fn engagement_in_the_later_shard_restarts_the_count() {
        let a = stored(Profile {
            sends_since_engagement: 5,
            ..Profile::default()
        });
        let mut b = stored(Profile {
            last_human_open: Some(50),
            sends_since_engagement: 1,
            ..Profile::default()
        });
        b.delivered_since_engagement = None;
        let m = merge_pair(&a, &b);
        assert_eq!(m.profile.sends_since_engagement, 1);
        assert_eq!(m.delivered_since_engagement, None);
        let m = merge_pair(&b, &a);
        assert_eq!(m.profile.sends_since_engagement, 6);
    }
}
