//! The single integration-test binary.

mod engagement;
