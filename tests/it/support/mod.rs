//! Test helpers shared by the integration tests.

pub(crate) mod dns;
pub(crate) mod postgres;
pub mod run;
