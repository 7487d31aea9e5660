//! The single integration-test binary.

mod dns;
mod support;
