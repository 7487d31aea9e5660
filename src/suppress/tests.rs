//! Unit tests of the suppression-list reader and matcher.

use super::*;
use std::io::Write;

fn list(text: &str) -> (tempfile::NamedTempFile, SuppressionSet) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let set = SuppressionSet::load(&[file.path().to_path_buf()]).unwrap();
    (file, set)
}

#[test]
fn plain_and_hashed_entries_match_normalised_addresses() {
    let sha = hex::encode(Sha256::digest(b"erased@example.com"));
    let md5 = hex::encode(Md5::digest(b"gone@example.com"));
    let (_f, set) = list(&format!("hash\n{sha}\n{md5}\n"));
    let n = normalize::normalize(" Erased@Example.com").unwrap();
    assert_eq!(
        set.matches(" Erased@Example.com", &n),
        Some("SHA-256 digest")
    );
    let n = normalize::normalize("gone@example.com").unwrap();
    assert_eq!(set.matches("gone@example.com", &n), Some("MD5 digest"));
    let (_f, set) = list("Someone@Example.com\n# comment\n\n");
    let n = normalize::normalize("someone@example.COM").unwrap();
    assert_eq!(set.matches("someone@example.COM", &n), Some("address"));
    let n = normalize::normalize("other@example.com").unwrap();
    assert_eq!(set.matches("other@example.com", &n), None);
}

#[test]
fn csv_with_email_column() {
    let (_f, set) = list("id,Email,reason\n1,a@example.com,gdpr\n2,\"b@example.com\",unsub\n");
    assert_eq!(set.summaries()[0].addresses, 2);
}

fn load_text(text: &str) -> Result<SuppressionSet> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    SuppressionSet::load(&[file.path().to_path_buf()])
}

#[test]
fn semicolon_lists_and_any_email_column_name() {
    let (_f, set) = list("ID;E-Mail;Grund\n1;a@example.com;dsgvo\n2;b@example.com;abmeldung\n");
    assert_eq!(set.summaries()[0].addresses, 2);
    let (_f, set) = list("Email Address\tnote\nc@example.com\tx\n");
    assert_eq!(set.summaries()[0].addresses, 1);
}

// See: #16 item 13
#[test]
fn a_line_over_the_limit_is_an_error_naming_it_and_the_rest_is_not_held() {
    let text = format!("a@example.com\n\n{}\n", "x".repeat(MAX_LINE_BYTES + 1));
    let err = load_text(&text).unwrap_err().to_string();
    assert!(err.contains("line 3 is longer than 64 KiB"), "{err}");
    // Exactly at the limit is fine (it is then an unreadable line).
    let text = format!("a@example.com\n{}\n", "x".repeat(MAX_LINE_BYTES));
    let set = load_text(&text).unwrap();
    assert_eq!(set.summaries()[0].unreadable_lines, [2]);
}

#[test]
fn csv_cells_keep_their_line_numbers_and_digest_kinds() {
    let sha1 = hex::encode(Sha1::digest(b"x@example.com"));
    let set = load_text(&format!(
        "\u{feff}Hash,note\n{sha1},a\nnot-a-digest,b\n\"\",c\n,d\n"
    ))
    .unwrap();
    let summary = &set.summaries()[0];
    assert_eq!(
        (summary.sha1, summary.unreadable_lines.clone()),
        (1, vec![3])
    );
    let n = normalize::normalize("X@example.com").unwrap();
    assert_eq!(set.matches("X@example.com", &n), Some("SHA-1 digest"));
}

#[test]
fn a_first_line_with_columns_but_no_entry_column_is_an_error_unless_it_is_data() {
    let error = load_text("name,note\njane,x\n").unwrap_err().to_string();
    assert!(
        error.contains("line 1 has 2 columns and none is named `email` or `hash`"),
        "{error}"
    );
    // One cell that is not an entry: a plain list with an unreadable line, not a header.
    let error = load_text("nothing here\n").unwrap_err().to_string();
    assert!(error.contains("no line holds an address"), "{error}");
    // Cells holding an address or a digest are data (a headerless CSV export).
    let md5 = hex::encode(Md5::digest(b"a@example.com"));
    let set = load_text(&format!("a@example.com,unsub\n{md5},note\n")).unwrap();
    assert_eq!(set.summaries()[0].addresses, 1);
    let set = load_text(&format!("{md5},note\nb@example.com,x\n")).unwrap();
    assert_eq!(
        (set.summaries()[0].md5, set.summaries()[0].addresses),
        (1, 1)
    );
}

#[test]
fn a_headerless_csv_export_suppresses_its_addresses() {
    // The whole line used to be the entry, so `a@example.com,unsubscribed` never matched.
    let (_f, set) = list("a@example.com,unsubscribed\nB@Example.com,complained\n");
    for address in ["a@example.com", "b@example.com"] {
        let n = normalize::normalize(address).unwrap();
        assert_eq!(set.matches(address, &n), Some("address"), "{address}");
    }
    assert_eq!(set.summaries()[0].unreadable_lines, Vec::<u64>::new());
}

#[test]
fn a_list_of_nothing_readable_and_a_list_of_nothing_say_which() {
    let unreadable = load_text("not an address\nnor this\n")
        .unwrap_err()
        .to_string();
    assert!(
        unreadable.contains("no line holds an address"),
        "{unreadable}"
    );
    let empty = load_text("# only a comment\n\n").unwrap_err().to_string();
    assert!(empty.contains("holds no entries"), "{empty}");
}

#[test]
fn unreadable_lines_are_numbered_and_at_most_ten_listed() {
    let mut text = String::from("email,note\n");
    for i in 0..12 {
        text.push_str(&format!("bad{i},x\n"));
    }
    text.push_str("ok@example.com,y\n");
    let set = load_text(&text).unwrap();
    let summary = &set.summaries()[0];
    assert_eq!(summary.addresses, 1);
    assert_eq!(summary.unreadable_lines, (2..12).collect::<Vec<u64>>());
    let md5 = hex::encode(Md5::digest(b"a@example.com"));
    let set = load_text(&format!("{md5}\n{md5}\n")).unwrap();
    assert_eq!(set.summaries()[0].md5, 2);
}

#[test]
fn an_overlong_csv_cell_names_its_line() {
    let text = format!(
        "email,note\na@example.com,x\nb@example.com,{}\n",
        "y".repeat(70_000)
    );
    let error = load_text(&text).unwrap_err().to_string();
    assert!(error.contains("longer than 64 KiB"), "{error}");
}

#[test]
fn digests_match_only_their_address_in_either_form() {
    // Other systems hash the trimmed, lower-cased address as typed: an internationalised
    // domain in Unicode, where listwash's form has A-labels.
    let unicode = hex::encode(Sha256::digest("jeff@臺網中心.tw".as_bytes()));
    let md5 = hex::encode(Md5::digest(b"listed@example.com"));
    let (_f, set) = list(&format!("{unicode}\n{md5}\n"));
    let idn = "Jeff@臺網中心.tw";
    let n = normalize::normalize(idn).unwrap();
    assert_eq!(set.matches(idn, &n), Some("SHA-256 digest"));
    let listed = normalize::normalize("listed@example.com").unwrap();
    assert_eq!(
        set.matches("listed@example.com", &listed),
        Some("MD5 digest")
    );
    let other = normalize::normalize("other@example.com").unwrap();
    assert_eq!(set.matches("other@example.com", &other), None);
}

#[test]
fn only_hex_of_a_digest_length_is_a_digest() {
    assert!(is_hex_digest(&"a".repeat(32)));
    assert!(is_hex_digest(&"0".repeat(40)));
    assert!(is_hex_digest(&"F".repeat(64)));
    assert!(!is_hex_digest(&"a".repeat(33)));
    assert!(!is_hex_digest(&"g".repeat(32)));
    assert!(!is_hex_digest(""));
}
