pub(crate) mod dns;
