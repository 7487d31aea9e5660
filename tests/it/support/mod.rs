//! Test helpers shared by the integration tests.

pub(crate) mod dns;
pub mod run;
