//! Unit tests of the output writer.
