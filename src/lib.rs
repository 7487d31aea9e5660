//! listwash cleans email contact lists before they are mailed.
//!
//! The pipeline streams a contact CSV in batches: each row's address is normalised
//! ([`normalize`]) and syntax-checked ([`syntax`]), its domain resolved once per run
//! ([`resolve`]), its engagement history looked up ([`engagement`]), suppression and risk lists
//! applied ([`suppress`], [`lists`]), and the [`rules::RuleSet`] decides keep / review /
//! suppress with a reason ([`decide`]). Outputs are written aside and renamed when complete
//! ([`mod@write`]). [`pipeline::clean`] runs it all; [`check::check`] decides single addresses.

pub mod bench;
pub mod check;
mod columns;
pub mod config;
pub mod dates;
pub mod decide;
pub mod engagement;
pub mod error;
pub mod guard;
pub mod interrupt;
pub mod lists;
pub mod normalize;
pub mod pipeline;
pub mod profile;
pub mod progress;
pub mod read;
pub mod reason;
pub mod render;
pub mod report;
pub mod resolve;
pub mod rules;
pub mod sample;
pub mod suppress;
pub mod syntax;
pub mod write;

pub use error::{Error, Result};
pub use reason::{Action, Finding, Reason};
