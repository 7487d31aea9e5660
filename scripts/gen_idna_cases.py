#!/usr/bin/env python3
"""Generates tests/fixtures/idna2008/idna_cases.csv: the source strings of Unicode's
IdnaTestV2.txt (UTS #46 conformance data) as domains `SOURCE.com`, each with the verdict of an
independent strict IDNA 2008 implementation (the `idna` package on PyPI, `uts46=False`: RFC
5891/5892/5893, no mapping) on the domain lower-cased and in NFC (DNS is case-blind, and NFC
is the same text), and the A-label it gives. Three deliberate departures from that verdict are
marked in `basis` (see tests/fixtures/idna2008/README.md).

    pip download idna==3.20 --no-deps -d /tmp/idna && (cd /tmp/idna && unzip -o idna-3.20-*.whl)
    PYTHONPATH=/tmp/idna python3 scripts/gen_idna_cases.py \\
        ~/.cargo/registry/src/*/idna-1.1.0/tests/IdnaTestV2.txt \\
        > tests/fixtures/idna2008/idna_cases.csv
"""

import csv
import json
import re
import sys
import unicodedata

import idna


def unescape(text):
    text = re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: chr(int(m.group(1), 16)), text)
    return re.sub(r"\\u([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1), 16)), text)


def folded(domain):
    nfc = unicodedata.normalize("NFC", domain)
    return unicodedata.normalize("NFC", "".join(c.lower() for c in nfc))


def main():
    out = csv.writer(sys.stdout, lineterminator="\n", quoting=csv.QUOTE_ALL)
    out.writerow(
        ["line", "domain_json", "uts46_to_ascii_n_status", "expected", "a_label", "basis"]
    )
    seen = set()
    for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        columns = [c.strip() for c in line.split(";")]
        source = unescape(columns[0])
        if source in ("", '""') or "@" in source or len(source) > 120:
            continue
        if any(0xD800 <= ord(c) <= 0xDFFF for c in source):  # not UTF-8
            continue
        if source.endswith(".") or ".." in source or source.startswith("."):
            continue
        if source.isascii() and "xn--" not in source.lower():
            continue
        domain = source + ".com"
        if domain in seen:
            continue
        seen.add(domain)
        status = columns[4] if len(columns) > 4 and columns[4] else (columns[2] or "[]")
        try:
            a_label = idna.encode(folded(domain), uts46=False).decode("ascii")
            expected, basis = "valid", "idna"
        except (idna.IDNAError, UnicodeError, ValueError) as error:
            a_label, expected, basis = "", "invalid", "idna"
            if "Unknown directionality" in str(error):
                # A code point newer than Python's Unicode database: not judged.
                expected, basis = "unjudged", "unicode_version"
        if expected == "valid" and re.search(r"\bB\d", status):
            # Python's idna applies the Bidi rule only to labels with RTL characters; RFC 5891
            # section 5.4 (and UTS-46 CheckBidi) apply it to every label of a bidi domain name.
            a_label, expected, basis = "", "invalid", "bidi_domain"
        if any(dot in source for dot in "\u3002\uff0e\uff61"):
            # Python's idna splits labels at ideographic full stops (RFC 3490 did); as written
            # they are a compatibility form of "." here: invalid, with a suggestion.
            basis = "ideographic_full_stop"
            if expected == "valid":
                a_label, expected = "", "compatibility_form"
        out.writerow([number, json.dumps(domain), status, expected, a_label, basis])

main()
