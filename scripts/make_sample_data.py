#!/usr/bin/env python3
"""Generate listwash's small, realistic sample data (deterministic: same output every run).

    python3 scripts/make_sample_data.py [OUT_DIR]      # default: sample_data/ beside this script

Writes, into OUT_DIR:
  contacts.csv          ~400 contacts: email,first_name,last_name,signup_date,country,source
  events.csv            their engagement log: email,event,timestamp,machine (use --as-of 2026-11-01)
  suppress.txt          plain-address suppression list
  suppress_sha256.csv   SHA-256 suppression list (header `hash`), e.g. GDPR erasure requests
  README.md             what each file is, and which rows are meant to trigger which reason

Python 3 standard library only. Every row is built for a purpose (a "group"); the groups and
the line numbers they landed on are listed in the generated README. All names, people and
company domains are invented; the big mailbox providers are real names, the people are not.
"""
import csv
import hashlib
import io
import os
import random
import sys
import unicodedata
from datetime import date, datetime, timedelta, timezone

SEED = 20261101
AS_OF = date(2026, 11, 1)  # the --as-of day the engagement groups are built around
GRACE_DAYS, INACTIVE_DAYS, MIN_SENDS, TRAP_DELIVERIES = 90, 365, 10, 3  # engine defaults

rng = random.Random(SEED)

# --------------------------------------------------------------------------------------------
# Name pools, by locale: first names, last names, country, company domains, local providers.
# --------------------------------------------------------------------------------------------
LOCALES = {
    "us": dict(
        first="James Mary Michael Jessica David Laura Kevin Rachel Brian Megan Ryan Nicole Tyler "
        "Ashley Jason Brittany Daniel Sarah Robert Emily".split(),
        last="Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas "
        "Moore Martin Jackson White Harris Clark Lewis Walker Young".split(),
        country=["United States"],
        companies=["brightwave.com", "lumenforge.com", "tidewater-analytics.com",
                   "oakridge-dental.com", "summitridge-realty.com", "pinecrest-labs.com",
                   "cobaltline.com", "redfern-logistics.com", "harborpoint-capital.com",
                   "meridian-hvac.com"],
        providers=["aol.com", "comcast.net"],
    ),
    "ca": dict(
        first="Liam Olivia Noah Emma Ethan Chloé Mathieu Camille Owen Avery".split(),
        last="Tremblay Roy Gagnon Côté Bouchard MacDonald Campbell Fraser".split(),
        country=["Canada"],
        companies=["maplecrest-foods.com", "northbay-robotics.com"],
        providers=[],
    ),
    "uk": dict(
        first="Oliver Charlotte Harry Amelia George Isla Jack Poppy Thomas Freya Alfie Imogen".split(),
        last="Hughes Evans Roberts Wright Walsh Thompson Edwards Green Hall Wood Turner Cooper".split(),
        country=["United Kingdom"],
        companies=["northwind-traders.co.uk", "harbourview.co.uk", "fenwick-partners.co.uk",
                   "ashdown-surveyors.co.uk", "kestrel-print.co.uk", "thamesbank-legal.co.uk",
                   "greyfriars-books.co.uk"],
        providers=["btinternet.com", "yahoo.co.uk", "hotmail.co.uk"],
    ),
    "ie": dict(
        first="Aoife Seán Niamh Cian Saoirse Oisín Róisín Darragh".split(),
        last="Murphy O'Brien Kelly Byrne Ryan O'Sullivan Doyle McCarthy".split(),
        country=["Ireland"],
        companies=["liffeyside-accounts.com"],
        providers=[],
    ),
    "de": dict(
        first="Lukas Anna Jonas Lea Felix Hannah Maximilian Marie Jürgen Sabine Björn Katrin".split(),
        last="Müller Schmidt Schneider Fischer Weber Wagner Becker Hoffmann Schäfer Koch "
        "Krüger Wolf".split(),
        country=["Germany", "Germany", "Austria", "Switzerland"],
        companies=["alpenblick-gmbh.de", "kesselbau.de", "quellwerk.de", "schreinerei-huber.de",
                   "rheinfeld-logistik.de", "nordlicht-medien.de", "müller.de",
                   "bäckerei-köhler.de", "zürich-reisen.com"],
        providers=["gmx.de", "web.de", "t-online.de"],
    ),
    "fr": dict(
        first="Lucas Léa Hugo Chloé Louis Noémie Théo Manon Renée André".split(),
        last="Dubois Lefèvre Moreau Girard Bernard Laurent Fontaine Rousseau".split(),
        country=["France", "France", "Belgium"],
        companies=["atelier-lumiere.com", "vignobles-garnier.com"],
        providers=["orange.fr", "free.fr"],
    ),
    "es": dict(
        first="Mateo Lucía Sofía Martín Javier Elena Pablo Carmen José Inés".split(),
        last="García Martínez López Sánchez Pérez Fernández Gómez Ruiz".split(),
        country=["Spain", "Spain", "Mexico", "Argentina"],
        companies=["olivar-del-sur.com", "transportes-navarro.com"],
        providers=[],
    ),
    "it": dict(
        first="Marco Giulia Luca Francesca Matteo Chiara Alessandro Sara".split(),
        last="Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci".split(),
        country=["Italy"],
        companies=["ceramiche-lombardi.com"],
        providers=["libero.it"],
    ),
    "nordic": dict(
        first="Lars Ingrid Astrid Søren Freja Mikkel Sigrid Henrik Maja Åsa".split(),
        last="Johansson Andersson Nilsson Jensen Nielsen Hansen Lindqvist Berg".split(),
        country=["Sweden", "Denmark", "Norway"],
        companies=["fjordline-design.com"],
        providers=[],
    ),
    "nl": dict(
        first="Daan Sanne Bram Fleur Sem Lotte".split(),
        last="de Vries Jansen Bakker Visser Smit van Dijk".split(),
        country=["Netherlands"],
        companies=["polderwerk.com"],
        providers=[],
    ),
    "pl": dict(
        first="Łukasz Zofia Wojciech Agnieszka Piotr Kasia".split(),
        last="Kowalski Nowak Wiśniewski Wójcik Kamińska Lewandowski".split(),
        country=["Poland"],
        companies=["wisla-software.com"],
        providers=[],
    ),
    "in": dict(
        first="Priya Arjun Ananya Rohan Kavya Vikram".split(),
        last="Patel Sharma Iyer Reddy Gupta Nair".split(),
        country=["India"],
        companies=["lotusbridge-tech.com"],
        providers=[],
    ),
    "asia": dict(
        first="Wei Mei Hiroshi Yuki Min-jun Ji-woo Haruto Sakura".split(),
        last="Chen Wang Tanaka Sato Kim Park Nakamura Lee".split(),
        country=["Japan", "Singapore", "Korea, Republic of", "Taiwan"],
        companies=["sakura-components.com"],
        providers=[],
    ),
    "africa": dict(
        first="Chinedu Amara Kwame Ngozi Thabo Zanele".split(),
        last="Okafor Mensah Adeyemi Nkosi Okonkwo Boateng".split(),
        country=["Nigeria", "Ghana", "South Africa"],
        companies=["savanna-agritech.com"],
        providers=[],
    ),
    "tr": dict(
        first="Aylin Emre Elif Burak".split(),
        last="Yılmaz Demir Şahin Çelik".split(),
        country=["Turkey"],
        companies=["bosphorus-textiles.com"],
        providers=[],
    ),
}
LOCALE_WEIGHTS = {"us": 26, "ca": 4, "uk": 14, "ie": 3, "de": 14, "fr": 7, "es": 6, "it": 4,
                  "nordic": 5, "nl": 3, "pl": 3, "in": 4, "asia": 4, "africa": 2, "tr": 1}
BIG_PROVIDERS = [("gmail.com", 40), ("yahoo.com", 12), ("outlook.com", 12), ("hotmail.com", 10),
                 ("icloud.com", 8)]
SOURCES = [("checkout", 22), ("newsletter-footer", 18), ("webinar", 12), ("import-2023", 10),
           ("landing-page", 10), ("popup", 8), ("trade-show", 6), ("referral", 6), ("api", 4),
           ("partner-list", 4)]
# Rows where a person typed a name that needs CSV quoting or carries a suffix.
NAME_OVERRIDES = [("Robert \"Bob\"", "Harris", "United States"),
                  ("Anne-Marie", "Taylor, Jr.", "United States"),
                  ("Jean-Luc", "Moreau, PhD", "France"),
                  ("María José", "García, de la Vega", "Spain")]


def wchoice(pairs):
    """Weighted choice from [(value, weight), ...]."""
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights, k=1)[0]


def ascii_fold(text):
    """'Søren Łukasz Jürgen' -> 'soren lukasz jurgen' (for local parts)."""
    special = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "ı": "i", "'": ""}
    text = "".join(special.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def local_part(first, last):
    f = ascii_fold(first).replace(" ", "").replace('"', "")
    l = ascii_fold(last.split(",")[0]).replace(" ", "")
    style = rng.random()
    if style < 0.40:
        return f"{f}.{l}"
    if style < 0.55:
        return f"{f}{l}"
    if style < 0.68:
        return f"{f[0]}.{l}"
    if style < 0.76:
        return f"{f}_{l}"
    if style < 0.90:
        return f"{f}.{l}{rng.randint(1, 99)}"
    if style < 0.95:
        return f"{f}{l[0]}{rng.choice(['1985', '1990', '77', '2001', '88'])}"
    return f"{f}.{l}+{rng.choice(['news', 'shop', 'promo', 'list'])}"  # plus-tag


def rand_date(start, end):
    return start + timedelta(days=rng.randint(0, (end - start).days))


# --------------------------------------------------------------------------------------------
# Contacts
# --------------------------------------------------------------------------------------------
contacts = []   # dicts: email, first_name, last_name, signup_date (date), country, source, group
seen = set()    # normalised addresses already used (only unique-by-design groups go through it)


def norm(address):
    address = address.strip()
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return f"{local}@{domain}".lower()


def person(locale=None, domain_kind=None):
    """A realistic person: (first, last, country, domain)."""
    locale = locale or wchoice(list(LOCALE_WEIGHTS.items()))
    loc = LOCALES[locale]
    first, last = rng.choice(loc["first"]), rng.choice(loc["last"])
    country = rng.choice(loc["country"])
    kind = domain_kind or wchoice([("provider", 62), ("local", 8), ("company", 30)])
    if kind == "local" and not loc["providers"]:
        kind = "provider"
    if kind == "provider":
        domain = wchoice(BIG_PROVIDERS)
    elif kind == "local":
        domain = rng.choice(loc["providers"])
    else:
        domain = rng.choice(loc["companies"])
    return first, last, country, domain


def add(group, email, first, last, country, signup, source=None):
    row = dict(email=email, first_name=first, last_name=last, signup_date=signup,
               country=country, source=source or wchoice(SOURCES), group=group)
    contacts.append(row)
    return row


def new_contact(group, signup_range=(date(2019, 3, 1), date(2026, 7, 15)), domain=None):
    """A contact with a fresh, syntactically ordinary, unique address (at `domain` if given)."""
    while True:
        first, last, country, picked = person()
        email = f"{local_part(first, last)}@{domain or picked}"
        if norm(email) not in seen and not local_part_is_role(email):
            seen.add(norm(email))
            return add(group, email, first, last, country, rand_date(*signup_range))


ROLES = {"abuse", "admin", "administrator", "billing", "contact", "enquiries", "help",
         "hostmaster", "info", "inquiries", "jobs", "marketing", "no-reply", "noreply", "office",
         "postmaster", "press", "root", "sales", "security", "spam", "support", "team",
         "webmaster"}


def local_part_is_role(email):
    return email.split("@")[0].split("+")[0].lower() in ROLES


# ---- ordinary good contacts without any events (the majority) ------------------------------
for _ in range(212):
    new_contact("good")
for (first, last, country) in NAME_OVERRIDES:  # names that need CSV quoting; still good
    row = new_contact("good")
    row["first_name"], row["last_name"], row["country"] = first, last, country
    row["email"] = f"{local_part(first, last)}@{row['email'].split('@')[1]}"
    seen.add(norm(row["email"]))
# IDN company domains (Unicode in the file), and one written as its A-label.
for email, first, last, country in [
    ("k.weber@müller.de", "Katrin", "Weber", "Germany"),
    ("jonas.fischer@bäckerei-köhler.de", "Jonas", "Fischer", "Germany"),
    ("s.keller@zürich-reisen.com", "Sabine", "Keller", "Switzerland"),
    ("felix.brandt@xn--mller-kva.de", "Felix", "Brandt", "Germany"),
    ("o'connor.niamh@gmail.com", "Niamh", "O'Connor", "Ireland"),  # apostrophe is valid atext
]:
    seen.add(norm(email))
    add("good_idn_or_unusual", email, first, last, country,
        rand_date(date(2020, 1, 1), date(2025, 12, 31)))

# ---- invalid syntax --------------------------------------------------------------------------
INVALID = [
    ("jane.smithgmail.com", "missing @"),
    ("tom..harris@yahoo.com", "double dot in local part"),
    ("peter.wong@gmail..com", "double dot in domain"),
    (".anna.berg@outlook.com", "leading dot"),
    ("laura smith@hotmail.com", "space in local part"),
    ("mike@@gmail.com", "two @"),
    ("@gmail.com", "empty local part"),
    ("lisa.moreau@", "empty domain"),
    ('"john.doe"@brightwave.com', "quoted local part"),
    ('"ann marie"@kesselbau.de', "quoted local part with space"),
    ("user@[192.168.1.20]", "IP literal"),
    ("d.evans@[IPv6:2001:db8::1]", "IPv6 literal"),
    ("kevin@localhost", "single-label domain (localhost)"),
    ("sarah.jones@mailserver", "single-label domain"),
    ("qa.signup@shop.test", "special-use .test domain"),
    ("printer@office.local", "special-use .local domain"),
    ("Jane Doe <jane.doe@brightwave.com>", "display-name form"),
    ('"Smith, John" <john.smith@quellwerk.de>', "display-name form with comma"),
    ("chris(work)@gmail.com", "comment"),
    ("first.last@-northwind.co.uk", "label starts with hyphen"),
    ("alex.kim@mail.c", "one-letter TLD"),
    ("ben@123.456", "numeric TLD"),
    ("a" * 65 + "@gmail.com", "local part over 64 octets"),
    ("n/a", "placeholder text"),
    ("", "empty cell"),
]
for email, _why in INVALID:
    first, last, country, _ = person()
    if "<" in email:  # the display name is the person's name
        first, last = {"J": ("Jane", "Doe"), '"': ("John", "Smith")}[email[0]]
        country = "United States" if first == "Jane" else "Germany"
    add("invalid_syntax", email, first, last, country,
        rand_date(date(2019, 1, 1), date(2026, 9, 30)))

# ---- risk lists: disposable, typo, role; and combinations ------------------------------------
for domain in ["mailinator.com", "mailinator.com", "guerrillamail.com", "10minutemail.com",
               "yopmail.com", "yopmail.com", "sharklasers.com", "trashmail.com"]:
    new_contact("disposable", domain=domain)
# The shipped disposable list also names some typo domains (gmial.com, hotmial.com): rows there
# are both, and suppress (disposable) beats review (typo_domain).
SHIPPED_DISPOSABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "data",
                                  "disposable_domains.txt")
with open(SHIPPED_DISPOSABLE, encoding="utf-8") as f:
    LISTED = {line.strip() for line in f if line.strip() and not line.startswith("#")}
for domain in ["gmial.com", "gmail.con", "hotmial.com", "yahooo.com", "outlok.com", "gmai.com",
               "iclod.com", "gmail.co"]:
    new_contact("typo_domain_listed_disposable" if domain in LISTED else "typo_domain",
                domain=domain)
for local, domain in [("info", "kesselbau.de"), ("sales", "brightwave.com"),
                      ("support", "lumenforge.com"), ("postmaster", "harbourview.co.uk"),
                      ("office", "alpenblick-gmbh.de"), ("marketing", "cobaltline.com"),
                      ("Info+Newsletter", "fenwick-partners.co.uk"), ("webmaster", "polderwerk.com"),
                      ("enquiries", "greyfriars-books.co.uk")]:
    first, last, country, _ = person()
    add("role_account", f"{local}@{domain}", "", "", country,
        rand_date(date(2020, 1, 1), date(2026, 6, 30)))
for email, group in [("sales@mailinator.com", "combo_role_and_disposable"),
                     ("support@gmail.con", "combo_typo_and_role")]:
    first, last, country, _ = person()
    add(group, email, "", "", country, rand_date(date(2021, 1, 1), date(2026, 6, 30)))

# ---- suppression lists -------------------------------------------------------------------------
SUPPRESS_PLAIN = []   # what goes into suppress.txt, as the list owner wrote it
SUPPRESS_HASHED = []  # addresses whose SHA-256 goes into suppress_sha256.csv
for i in range(4):
    row = new_contact("suppression_list_plain")
    if i == 0:  # the list holds it in other case than the contact file: normalised match
        SUPPRESS_PLAIN.append(row["email"].title())
    else:
        SUPPRESS_PLAIN.append(row["email"])
for i in range(4):
    row = new_contact("suppression_list_sha256")
    if i == 0:  # the contact file has it in mixed case; the hash is of the normalised form
        row["email"] = row["email"][0].upper() + row["email"][1:].replace("@g", "@G")
    SUPPRESS_HASHED.append(norm(row["email"]))
SUPPRESS_PLAIN += ["old.customer.2019@gmail.com", "returns@kesselbau.de"]  # not in contacts
SUPPRESS_HASHED += ["erasure.request.0417@yahoo.com", "m.vandenberg@polderwerk.com"]

# ---- DNS-dependent rows (only meaningful with DNS on; kept under --no-dns) ----------------------
for email, group in [("g.hale@halewood-freight-q7x2.co.uk", "dns_no_domain"),
                     ("m.brandt@brandt-messtechnik-zk41.de", "dns_no_domain"),
                     ("p.reyes@reyes-ortiz-diseno-v9w3.com", "dns_no_domain"),
                     ("noemail@example.com", "dns_null_mx"),
                     ("john.doe@example.org", "dns_null_mx")]:
    first, last, country, _ = person()
    seen.add(norm(email))
    add(group, email, first, last, country, rand_date(date(2021, 1, 1), date(2026, 5, 31)))

# ---- engagement groups (events written below) -------------------------------------------------
OLD = (date(2019, 3, 1), date(2023, 12, 31))
ENGAGEMENT_GROUPS = [
    # group, count, signup range
    ("engaged", 45, (date(2019, 3, 1), date(2025, 6, 30))),
    ("hard_bounced", 7, OLD),
    ("complained", 5, OLD),
    ("complained_and_unsubscribed", 1, OLD),
    ("unsubscribed", 6, OLD),
    ("suspected_recycled_trap", 6, (date(2019, 3, 1), date(2022, 12, 31))),
    ("inactive", 8, OLD),
    ("inactive_never_engaged", 2, (date(2023, 6, 1), date(2024, 2, 28))),
    ("inactive_machine_opens_only", 6, OLD),
    ("inactive_scanner_clicks_only", 3, OLD),
    ("new_signup_in_grace", 5, (date(2026, 8, 10), date(2026, 9, 25))),
    ("boundary_last_click_365_days", 1, OLD),
    ("boundary_last_open_366_days", 1, OLD),
    ("boundary_9_sends_since_engagement", 1, OLD),
    ("boundary_10_sends_since_engagement", 1, OLD),
    ("bounce_then_2_deliveries", 1, OLD),
    ("reengaged_after_bounce", 1, OLD),
]
for group, count, span in ENGAGEMENT_GROUPS:
    for _ in range(count):
        new_contact(group, signup_range=span)
# One unsubscriber with an IDN domain, written in Unicode here and as its A-label in events.csv.
seen.add(norm("lena.vogel@müller.de"))
add("unsubscribed_idn", "lena.vogel@müller.de", "Lena", "Vogel", "Germany", date(2021, 4, 12))

# ---- duplicates: same address as an earlier row, differing only by case / white space ---------
dup_pool = [c for c in contacts if c["group"] in ("good", "engaged")]
rng.shuffle(dup_pool)
for i, original in enumerate(dup_pool[:11]):
    email = original["email"]
    local, domain = email.split("@")
    if i < 6:
        variant = f"{local.capitalize()}@{domain.capitalize()}"
    elif i < 8:
        variant = email.upper()
    elif i == 8:
        variant = f"{email} "          # trailing space
    elif i == 9:
        variant = f"  {local}@{domain.upper()}"  # leading spaces
    else:
        variant = f"{local.title()}@{domain}"
    if variant == email:
        variant = email.upper()
    # A re-signup through another channel, later than the original.
    later = min(original["signup_date"] + timedelta(days=rng.randint(20, 700)),
                date(2026, 10, 20))
    row = add("duplicate", variant, original["first_name"], original["last_name"],
              original["country"], later, wchoice(SOURCES))
    row["dup_of"] = original
# IDN duplicate: the A-label spelling of an earlier U-label address.
original = next(c for c in contacts if c["email"] == "k.weber@müller.de")
add("duplicate", "K.Weber@XN--MLLER-KVA.DE", "Katrin", "Weber", "Germany",
    date(2026, 2, 3), "webinar")["dup_of"] = original

# Exports are ordered by signup date; duplicates were built to come after their originals.
contacts.sort(key=lambda c: (c["signup_date"], c["email"]))
for n, c in enumerate(contacts, start=2):  # physical line numbers (header is line 1)
    c["line"] = n
for c in contacts:
    if "dup_of" in c:
        assert c["dup_of"]["line"] < c["line"], c

# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------
def first_tuesday(year, month):
    d = date(year, month, 1)
    return d + timedelta(days=(1 - d.weekday()) % 7)


# The monthly newsletter: first Tuesday of each month, 2024-01 .. 2026-10, 09:00 UTC.
CAMPAIGNS = [datetime(y, m, first_tuesday(y, m).day, 9, 0, tzinfo=timezone.utc)
             for y in (2024, 2025, 2026) for m in range(1, 13)
             if datetime(y, m, 1).date() < AS_OF]
events = []  # (utc datetime, email-as-logged, event, machine, tz style)


def ev(email, when, kind, machine="", style="Z"):
    assert when.date() < AS_OF, (email, when, kind)
    events.append((when, email, kind, machine, style))


def campaigns_after(signup, until=None):
    start = datetime(signup.year, signup.month, signup.day, 23, 59, tzinfo=timezone.utc)
    return [c for c in CAMPAIGNS if c > start and (until is None or c < until)]


def at(day, hour=12):
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def send(email, when, style, outcome="delivered"):
    """A send and its outcome; returns the delivery time (or None)."""
    when = when + timedelta(seconds=rng.randint(0, 1800))
    ev(email, when, "sent", style=style)
    done = when + timedelta(seconds=rng.randint(2, 90))
    ev(email, done, outcome, style=style)
    return done if outcome == "delivered" else None


def human_open(email, delivered, style, click=False, min_delay=600):
    t = delivered + timedelta(seconds=rng.randint(min_delay, 3 * 86400))
    ev(email, t, "open", "false", style)
    if click:
        ev(email, t + timedelta(seconds=rng.randint(15, 900)), "click", "false", style)
    return t


def mpp_open(email, delivered, style):
    ev(email, delivered + timedelta(seconds=rng.randint(20, 900)), "open", "true", style)


def history(c, style, engage_until=None, engage_p=0.35, stop=None, mpp=False):
    """Monthly campaigns from signup to `stop`; human opens with probability engage_p on
    deliveries before engage_until. Returns the list of delivery times."""
    email = c["email"]
    deliveries = []
    for camp in campaigns_after(c["signup_date"], stop):
        outcome = "soft_bounce" if rng.random() < 0.03 else "delivered"
        d = send(email, camp, style, outcome)
        if d is None:
            continue
        deliveries.append(d)
        if mpp:
            mpp_open(email, d, style)
        if engage_until and d < engage_until and rng.random() < engage_p:
            human_open(email, d, style, click=rng.random() < 0.3)
    return deliveries


def last_engaged(email, deliveries, before, style):
    """Guarantee a human open on the last delivery before `before`; returns its time."""
    d = max(x for x in deliveries if x < before)
    return human_open(email, d, style, click=True, min_delay=3600)


def campaign(y, m):
    return next(c for c in CAMPAIGNS if (c.year, c.month) == (y, m))


detail = {}  # email -> evidence note for the README
counter = {}  # group -> rows of it seen so far
for c in contacts:
    g, email = c["group"], c["email"]
    style = rng.choice(["Z", "+02:00"])
    if g == "engaged":
        logged = email if rng.random() > 0.15 else email.upper()  # ESPs echo the case they got
        ds = history(c, style, engage_until=at(AS_OF), mpp=rng.random() < 0.25)
        recent = [d for d in ds if d > at(date(2026, 5, 1))]
        if recent:
            human_open(logged, rng.choice(recent), style, click=rng.random() < 0.5)
        if logged != email:
            events[:] = [(t, logged if e == email else e, k, m, s) for (t, e, k, m, s) in events]
    elif g in ("hard_bounced",):
        bounce = campaign(*rng.choice([(2025, 9), (2025, 12), (2026, 3), (2026, 6), (2026, 9)]))
        ds = history(c, style, engage_until=bounce, stop=bounce)
        last_engaged(email, ds, bounce, style)
        send(email, bounce, style, "hard_bounce")
        if rng.random() < 0.5:  # the ESP retried once more next month; bounced again
            nxt = [x for x in CAMPAIGNS if x > bounce]
            if nxt:
                send(email, nxt[0], style, "hard_bounce")
        detail[email] = f"hard bounce {bounce.date()}, no delivery since"
    elif g.startswith("complained"):
        stop = campaign(*rng.choice([(2025, 6), (2025, 11), (2026, 2), (2026, 5), (2026, 9)]))
        ds = history(c, style, engage_until=stop, stop=stop)
        last_engaged(email, ds, stop, style)  # engaged recently: only the complaint decides
        d = send(email, stop, style)
        t = d + timedelta(hours=rng.randint(1, 30))
        ev(email, t, "complaint", style=style)
        if g == "complained_and_unsubscribed":
            ev(email, t + timedelta(minutes=3), "unsubscribe", style=style)
        detail[email] = f"complaint {t.date()}"
    elif g.startswith("unsubscribed"):
        logged = "lena.vogel@xn--mller-kva.de" if g == "unsubscribed_idn" else email
        stop = campaign(*rng.choice([(2025, 4), (2025, 10), (2026, 1), (2026, 7), (2026, 10)]))
        history(c, style, engage_until=stop, stop=stop)
        d = send(email, stop, style)
        t = human_open(email, d, style)
        ev(email, t + timedelta(seconds=rng.randint(20, 200)), "unsubscribe", style=style)
        if logged != email:
            events[:] = [(t_, logged if e == email else e, k, m, s)
                         for (t_, e, k, m, s) in events]
        detail[email] = f"unsubscribe {t.date()}"
    elif g == "suspected_recycled_trap":
        # Engaged until L, hard-bounced for months (the mailbox was abandoned), then the
        # provider re-enabled it as a trap: deliveries resume, no human ever opens again.
        i = counter[g] = counter.get(g, -1) + 1
        last_open_month, bounces, n_deliv = [((2024, 9), [(2025, 1), (2025, 2), (2025, 3)], 12),
                                             ((2025, 11), [(2026, 1), (2026, 2)], 5),
                                             ((2026, 2), [(2026, 4), (2026, 5)], 3)][i % 3]
        first_bounce = campaign(*bounces[0])
        ds = history(c, style, engage_until=first_bounce, stop=first_bounce)
        last_engaged(email, ds, campaign(*last_open_month) + timedelta(days=1), style)
        for b in bounces:
            send(email, campaign(*b), style, "hard_bounce")
        after = [x for x in CAMPAIGNS if x > campaign(*bounces[-1])][-n_deliv:]
        for x in after:
            d = send(email, x, style)
            if i % 2 == 0:
                mpp_open(email, d, style)  # a privacy proxy "opens"; never counts
        detail[email] = (f"hard bounces {', '.join('%d-%02d' % b for b in bounces)}, then "
                         f"{len(after)} deliveries, no human open/click since")
    elif g in ("inactive", "inactive_never_engaged"):
        if g == "inactive":
            stop_engaging = at(rand_date(date(2024, 6, 1), date(2025, 9, 30)))
            ds = history(c, style, engage_until=stop_engaging)
            t = last_engaged(email, ds, stop_engaging, style)
            detail[email] = f"last human open/click {t.date()}"
        else:
            history(c, style)
            detail[email] = "never opened or clicked; mailed since signup"
    elif g == "inactive_machine_opens_only":
        # Apple Mail Privacy Protection: every delivery is "opened" within minutes, by a proxy.
        ds = history(c, style, engage_until=at(date(2024, 8, 1)), engage_p=0.2, mpp=True)
        detail[email] = "only machine (MPP) opens for the last 2 years"
    elif g == "inactive_scanner_clicks_only":
        # A corporate link scanner clicks every link seconds after delivery; machine unknown.
        for camp in campaigns_after(c["signup_date"]):
            d = send(email, camp, style)
            ev(email, d + timedelta(seconds=rng.randint(1, 8)), "click", "", style)
        detail[email] = "clicks 1-8 s after each delivery (scanner), machine column empty"
    elif g == "new_signup_in_grace":
        # Welcome series: a mail every 3 days from signup, 11 of them, plus the newsletter.
        for k in range(11):
            send(email, at(c["signup_date"] + timedelta(days=1 + 3 * k), 8), style)
        for camp in campaigns_after(c["signup_date"]):
            send(email, camp, style)
        detail[email] = (f"signed up {c['signup_date']} (< {GRACE_DAYS} days), "
                         "never opened, 11+ sends")
    elif g.startswith("boundary_"):
        # Z timestamps at midday, so the event's day is the same in every time zone reading.
        style = "Z"
        if g == "boundary_last_click_365_days":
            t = at(AS_OF - timedelta(days=365))
        elif g == "boundary_last_open_366_days":
            t = at(AS_OF - timedelta(days=366))
        else:
            t = at(date(2025, 6, 20))
        history(c, style, engage_until=at(date(2025, 3, 1)), stop=t)
        if g == "boundary_last_click_365_days":
            ev(email, t - timedelta(minutes=2), "open", "false", style)
            ev(email, t, "click", "false", style)
        else:
            ev(email, t, "open", "false", style)
        sends_after = [x for x in CAMPAIGNS if x > t]
        if "_sends_" in g:
            sends_after = sends_after[: 9 if "9_sends" in g else 10]
        for x in sends_after:
            send(email, x, style)
        detail[email] = (f"last human engagement {t.date()} ({(AS_OF - t.date()).days} days), "
                         f"{len(sends_after)} sends since")
    elif g == "bounce_then_2_deliveries":
        ds = history(c, style, engage_until=at(date(2026, 6, 1)), stop=campaign(2026, 6))
        last_engaged(email, ds, campaign(2026, 6), style)
        send(email, campaign(2026, 7), style, "hard_bounce")
        for m in (9, 10):
            send(email, campaign(2026, m), style)
        detail[email] = "hard bounce 2026-07, 2 deliveries since (N-1), engaged 2026-05"
    elif g == "reengaged_after_bounce":
        ds = history(c, style, engage_until=campaign(2025, 3), stop=campaign(2025, 3))
        send(email, campaign(2025, 3), style, "hard_bounce")
        for x in [x for x in CAMPAIGNS if x > campaign(2025, 5)]:
            d = send(email, x, style)
            if x.year == 2026 and x.month in (6, 9):
                human_open(email, d, style, click=True)
        detail[email] = "hard bounce 2025-03, deliveries since, human opens/clicks in 2026"
    elif g == "good" and rng.random() < 0.08:
        # A few ordinary contacts with only a soft bounce or two: soft bounces decide nothing.
        d = campaign(2026, rng.choice([4, 8]))
        send(email, d, style, "soft_bounce")
        send(email, campaign(2026, 10), style)

# Events for addresses that are not in contacts.csv: the engine must ignore them.
for email in ["former.employee@brightwave.com", "chris.lambert@outlook.com",
              "t.nguyen@gmail.com", "ops-alerts@cobaltline.com", "helga.brun@gmx.de"]:
    style = rng.choice(["Z", "+02:00"])
    for x in CAMPAIGNS[-4:]:
        d = send(email, x, style)
        if rng.random() < 0.5:
            human_open(email, d, style)
    if email.startswith("t.nguyen"):
        ev(email, CAMPAIGNS[-1] + timedelta(hours=5), "complaint", style=style)


def stamp(t, style):
    if style == "Z":
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (t + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"


events.sort(key=lambda e: (e[0], e[1], e[2]))


# --------------------------------------------------------------------------------------------
# Write the files
# --------------------------------------------------------------------------------------------
def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


EXPECTED = {  # group -> (expected reason under --no-dns --as-of 2026-11-01, output file)
    "good": ("-", "clean"),
    "good_idn_or_unusual": ("-", "clean"),
    "engaged": ("-", "clean"),
    "invalid_syntax": ("invalid_syntax", "suppressed"),
    "duplicate": ("duplicate", "suppressed"),
    "suppression_list_plain": ("suppression_list", "suppressed"),
    "suppression_list_sha256": ("suppression_list", "suppressed"),
    "disposable": ("disposable", "suppressed"),
    "combo_role_and_disposable": ("disposable (role_account too)", "suppressed"),
    "typo_domain": ("typo_domain", "review"),
    "combo_typo_and_role": ("typo_domain (role_account too)", "review"),
    "typo_domain_listed_disposable": ("disposable (typo_domain too)", "suppressed"),
    "role_account": ("role_account", "review"),
    "dns_no_domain": ("no_domain with DNS; none under --no-dns", "clean under --no-dns"),
    "dns_null_mx": ("null_mx with DNS; none under --no-dns", "clean under --no-dns"),
    "hard_bounced": ("hard_bounced", "suppressed"),
    "complained": ("complained", "suppressed"),
    "complained_and_unsubscribed": ("complained (unsubscribed too)", "suppressed"),
    "unsubscribed": ("unsubscribed", "suppressed"),
    "unsubscribed_idn": ("unsubscribed (events use the A-label)", "suppressed"),
    "suspected_recycled_trap": ("suspected_recycled_trap (some: inactive too)", "suppressed"),
    "inactive": ("inactive", "suppressed"),
    "inactive_never_engaged": ("inactive", "suppressed"),
    "inactive_machine_opens_only": ("inactive (machine opens discarded)", "suppressed"),
    "inactive_scanner_clicks_only": ("inactive (scanner clicks discarded)", "suppressed"),
    "new_signup_in_grace": ("- (grace period)", "clean"),
    "boundary_last_click_365_days": ("- (exactly D days: not more than D)", "clean"),
    "boundary_last_open_366_days": ("inactive (D+1 days)", "suppressed"),
    "boundary_9_sends_since_engagement": ("- (S-1 sends)", "clean"),
    "boundary_10_sends_since_engagement": ("inactive (S sends)", "suppressed"),
    "bounce_then_2_deliveries": ("- (N-1 deliveries after bounce)", "clean"),
    "reengaged_after_bounce": ("- (human opens after the bounce)", "clean"),
}
GROUP_NOTES = {
    "good": "ordinary contacts at big providers, local providers (gmx.de, orange.fr, ...) and "
            "company domains; plus-tags; names with accents, quotes and commas; "
            "a few have only soft bounces in events.csv",
    "good_idn_or_unusual": "IDN domains (müller.de, bäckerei-köhler.de, zürich-reisen.com), an "
                           "A-label domain (xn--mller-kva.de), an apostrophe in the local part",
    "engaged": "monthly newsletter, human opens/clicks incl. one since 2026-05; some also have "
               "MPP machine opens; some are logged in upper case in events.csv",
    "invalid_syntax": "; ".join(why for _, why in INVALID),
    "duplicate": "an earlier row's address in other case, with leading/trailing spaces, or the "
                 "A-label spelling of an IDN domain (the first occurrence decides on its own)",
    "suppression_list_plain": "listed in suppress.txt (one in other case there)",
    "suppression_list_sha256": "SHA-256 listed in suppress_sha256.csv (one row in mixed case)",
    "disposable": "mailinator.com, guerrillamail.com, 10minutemail.com, yopmail.com, "
                  "sharklasers.com, trashmail.com",
    "typo_domain": "gmail.con, yahooo.com, outlok.com, gmai.com, iclod.com, gmail.co",
    "role_account": "info@, sales@, support@, postmaster@, office@, marketing@, "
                    "Info+Newsletter@, webmaster@, enquiries@ at company domains (names empty)",
    "combo_role_and_disposable": "`sales@mailinator.com`",
    "combo_typo_and_role": "`support@gmail.con`",
    "typo_domain_listed_disposable": "gmial.com and hotmial.com: typos of gmail.com and "
                                     "hotmail.com that the shipped disposable list "
                                     "(src/data/disposable_domains.txt) also names",
    "dns_no_domain": "unregistered domains (NXDOMAIN in live DNS)",
    "dns_null_mx": "example.com / example.org publish a null MX (RFC 7505) in live DNS",
    "hard_bounced": "engaged until shortly before a hard bounce; no delivery after it (some "
                    "bounced twice)",
    "complained": "engaged, then a complaint hours after a delivery; no sends after",
    "complained_and_unsubscribed": "a complaint, then an unsubscribe 3 minutes later",
    "unsubscribed": "opened the last mail, then unsubscribed; no sends after",
    "unsubscribed_idn": "contacts.csv has `lena.vogel@müller.de`, events.csv "
                        "`lena.vogel@xn--mller-kva.de`",
    "suspected_recycled_trap": "engaged, then 2-3 monthly hard bounces, then 3, 5 or 12 "
                               "deliveries and no human open/click; half of them get MPP "
                               "machine opens after the bounce (never count). Those with 12 "
                               "deliveries (last engaged 2024-09) are inactive too",
    "inactive": "human opens until some day between 2024-06 and 2025-09, then 13+ monthly sends",
    "inactive_never_engaged": "signed up 2023-06..2024-02, mailed monthly, never opened",
    "inactive_machine_opens_only": "Apple MPP: a machine=true open minutes after every "
                                   "delivery; last human open (if any) before 2024-08",
    "inactive_scanner_clicks_only": "a click 1-8 s after every delivery, machine cell empty "
                                    "(link scanner); never a human open",
    "new_signup_in_grace": f"signed up < {GRACE_DAYS} days before --as-of, 11-mail welcome "
                           "series + newsletter, never opened",
    "boundary_last_click_365_days": "last human click exactly 365 days before --as-of, 12 sends "
                                    "since",
    "boundary_last_open_366_days": "last human open 366 days before --as-of, 12 sends since",
    "boundary_9_sends_since_engagement": "last human open 2025-06-20 (> 365 days), 9 sends since",
    "boundary_10_sends_since_engagement": "last human open 2025-06-20 (> 365 days), 10 sends "
                                          "since",
    "bounce_then_2_deliveries": "engaged 2026-05, hard bounce 2026-07, delivered 2026-09 and "
                                "2026-10, no open since: neither hard_bounced nor a trap",
    "reengaged_after_bounce": "hard bounce 2025-03, deliveries from 2025-06, human opens and "
                              "clicks in 2026",
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "sample_data"))
    os.makedirs(out, exist_ok=True)
    write_csv(os.path.join(out, "contacts.csv"),
              ["email", "first_name", "last_name", "signup_date", "country", "source"],
              [[c["email"], c["first_name"], c["last_name"], c["signup_date"].isoformat(),
                c["country"], c["source"]] for c in contacts])
    write_csv(os.path.join(out, "events.csv"), ["email", "event", "timestamp", "machine"],
              [[e, k, stamp(t, s), m] for (t, e, k, m, s) in events])
    with open(os.path.join(out, "suppress.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(a + "\n" for a in SUPPRESS_PLAIN))
    write_csv(os.path.join(out, "suppress_sha256.csv"), ["hash"],
              [[hashlib.sha256(a.strip().lower().encode()).hexdigest()] for a in SUPPRESS_HASHED])
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(readme())
    self_check(out)
    sys.stderr.write(f"wrote {len(contacts)} contacts, {len(events)} events to {out}\n")


def self_check(out):
    """Re-read the written files and decide the engagement and list reasons with a small
    reference reading of the rules; fail loudly if a group does not get what the README says."""
    with open(os.path.join(out, "events.csv"), newline="", encoding="utf-8") as f:
        rows = [(norm(r["email"]), r["event"], datetime.fromisoformat(r["timestamp"]),
                 r["machine"]) for r in csv.DictReader(f)]
    rows.sort(key=lambda r: r[2])
    profiles = {}
    for r in rows:
        profiles.setdefault(r[0], []).append(r)
    with open(os.path.join(out, "suppress.txt"), encoding="utf-8") as f:
        plain = {norm(line) for line in f if line.strip()}
    with open(os.path.join(out, "suppress_sha256.csv"), newline="", encoding="utf-8") as f:
        hashed = {r["hash"] for r in csv.DictReader(f)}

    def engagement(address, signup):
        evs = profiles.get(address, [])
        human, last_delivery = [], None
        for _, kind, t, machine in evs:
            if kind == "delivered":
                last_delivery = t
            elif kind in ("open", "click") and machine != "true":
                scanner = (machine == "" and kind == "click" and last_delivery is not None
                           and (t - last_delivery).total_seconds() <= 10)
                if not scanner:
                    human.append(t)
        found = []
        bounces = [t for _, k, t, _ in evs if k == "hard_bounce"]
        if bounces:
            after = [t for _, k, t, _ in evs if k == "delivered" and t > bounces[-1]]
            if not after:
                found.append("hard_bounced")
        if any(k == "complaint" for _, k, _, _ in evs):
            found.append("complained")
        if any(k == "unsubscribe" for _, k, _, _ in evs):
            found.append("unsubscribed")
        if bounces and len(after) >= TRAP_DELIVERIES and not [t for t in human
                                                               if t > bounces[-1]]:
            found.append("suspected_recycled_trap")
        last = max(human) if human else None
        since = last or datetime(signup.year, signup.month, signup.day, tzinfo=timezone.utc)
        sends = sum(1 for _, k, t, _ in evs if k == "sent" and t > since)
        if ((last is None or (AS_OF - last.astimezone(timezone.utc).date()).days > INACTIVE_DAYS)
                and sends >= MIN_SENDS and (AS_OF - signup).days > GRACE_DAYS):
            found.append("inactive")
        return found

    problems = []
    for c in contacts:
        want = EXPECTED[c["group"]][0].split(" ")[0]
        address = norm(c["email"])
        found = engagement(address, c["signup_date"])
        if address in plain or hashlib.sha256(address.encode()).hexdigest() in hashed:
            found.insert(0, "suppression_list")
        got = found[0] if found else "-"
        listed = want in ("-", "suppression_list") or want in {
            "hard_bounced", "complained", "unsubscribed", "suspected_recycled_trap", "inactive"}
        if listed and got != want:
            problems.append(f"line {c['line']} {c['email']!r} ({c['group']}): want {want}, "
                            f"reference rules say {found}")
    if problems:
        sys.exit("self-check failed:\n" + "\n".join(problems))


def ranges(lines):
    """[2,3,4,9] -> '2-4, 9'"""
    out, start, prev = [], None, None
    for n in sorted(lines) + [None]:
        if start is None:
            start = prev = n
        elif n is not None and n == prev + 1:
            prev = n
        else:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = n
    return ", ".join(out)


def readme():
    by_group = {}
    for c in contacts:
        by_group.setdefault(c["group"], []).append(c)
    s = io.StringIO()
    w = s.write
    w(f"""# Sample data

A small, realistic contact export and its engagement log, made to exercise every reason code
of the contract. Generated by `scripts/make_sample_data.py` (Python 3 standard library,
seeded: running it again rewrites these files byte for byte):

    python3 scripts/make_sample_data.py            # writes sample_data/

All people and company domains are invented; the mailbox providers are real names.

| file | what it is |
| --- | --- |
| `contacts.csv` | {len(contacts)} contacts, header `email,first_name,last_name,signup_date,country,source`, ordered by `signup_date` (ISO `YYYY-MM-DD`) like an ESP export. UTF-8, `\\n` line ends, quoted where a value holds a comma or a quote. |
| `events.csv` | {len(events)} engagement events for the same contacts (and a few others), header `email,event,timestamp,machine`; events `sent`, `delivered`, `open`, `click`, `hard_bounce`, `soft_bounce`, `complaint`, `unsubscribe`; ISO-8601 timestamps with `Z` or `+02:00`; `machine` is `true`/`false` on opens and clicks (empty elsewhere, and empty on one group's clicks: see below). Built around `--as-of {AS_OF}`. |
| `suppress.txt` | {len(SUPPRESS_PLAIN)} plain addresses, one per line ({len(SUPPRESS_PLAIN) - 2} of them in contacts.csv, one in other case). |
| `suppress_sha256.csv` | header `hash`: SHA-256 hex of the trimmed, lower-cased address; {len(SUPPRESS_HASHED)} entries (e.g. GDPR erasure requests), {len(SUPPRESS_HASHED) - 2} of them in contacts.csv. |

Run the main job on it:

    listwash clean sample_data/contacts.csv --out-dir out/ --no-dns \\
        --engagement sample_data/events.csv --as-of {AS_OF} \\
        --suppress sample_data/suppress.txt --suppress sample_data/suppress_sha256.csv

The newsletter goes out on the first Tuesday of every month (2024-01 to 2026-10, about 09:00
UTC); sends are a `sent` and then a `delivered` (or `soft_bounce` / `hard_bounce`) 2-90 s later.
Thresholds assumed (the engine's defaults): `inactive` = no human open or click for more than
{INACTIVE_DAYS} days before `--as-of`, at least {MIN_SENDS} sends since the last one (or since
signup), and signed up more than {GRACE_DAYS} days before; `suspected_recycled_trap` = hard
bounce(s), then at least {TRAP_DELIVERIES} deliveries after the last one, no human open or click
since; `hard_bounced` = a hard bounce with no later delivery. Opens or clicks with
`machine=true` never count.

## Which rows trigger which reason

Line numbers are physical lines of `contacts.csv` (the header is line 1; no value spans lines).
"Expected" is the deciding `listwash_reason` under the command above (`--no-dns`).

| group | rows | expected reason | output | lines | what the rows are |
| --- | ---: | --- | --- | --- | --- |
""")
    order = list(EXPECTED)
    for g in sorted(by_group, key=order.index):
        rows = by_group[g]
        reason, output = EXPECTED[g]
        note = GROUP_NOTES[g]
        w(f"| `{g}` | {len(rows)} | {reason} | {output} | {ranges(c['line'] for c in rows)} "
          f"| {note.replace('|', '/')} |\n")
    counts = {}
    for c in contacts:
        counts[EXPECTED[c["group"]][1]] = counts.get(EXPECTED[c["group"]][1], 0) + 1
    w(f"""
Totals under the command above: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}
(`dns_*` rows count as clean: `--no-dns` leaves their domains `unchecked`).

## Notes and caveats

* **DNS reasons.** With DNS on, the `dns_no_domain` rows should be `no_domain` and the
  `dns_null_mx` rows `null_mx` (live DNS, as it was when written). Note that the invented
  company domains of the ordinary contacts do not exist either: with DNS on, those rows turn
  `no_domain` too, so the table above is for `--no-dns`. `no_mx` and `dns_unknown` cannot be
  produced reliably from public DNS; the integration tests cover them with a fixture
  nameserver. To see `dns_unknown` by hand, point at a black-hole resolver, e.g.
  `--dns-server 192.0.2.1:53 --dns-timeout 500` (every lookup times out).
* **Scanner clicks.** `inactive_scanner_clicks_only` rows have a `click` 1-8 s after every
  delivery with an empty `machine` cell (the ESP did not classify it). They are `inactive` only
  if the engine applies the "click within 10 s of its delivery is a scanner" rule to clicks whose
  `machine` value is missing; an engine that applies it only when the whole column is absent
  would keep them.
* **White-space duplicates.** Two `duplicate` rows differ from the original by leading or
  trailing spaces. The pipeline trims before deciding, so they are duplicates; a syntax check
  run on the untrimmed value would call them `invalid_syntax` instead (same file, suppressed).
* **Several reasons.** `sales@mailinator.com` is disposable and a role account (suppress wins
  over review); `support@gmail.con` is a typo and a role account (`typo_domain` comes first);
  one contact complained and then unsubscribed (`complained` comes first); traps whose last
  human engagement is over {INACTIVE_DAYS} days old are also `inactive` (trap comes first);
  `typo_domain_listed_disposable` rows are typos the shipped disposable list also names, so
  `disposable` decides (a `disposable_allow` entry in the rules file would make them
  `typo_domain` again). The groups are computed from `src/data/disposable_domains.txt` when
  the script runs.
* **Case and IDN in events.** Some engaged contacts appear upper-cased in `events.csv`, and
  `lena.vogel@müller.de` appears as `lena.vogel@xn--mller-kva.de`: profiles must be keyed by
  the normalised address.
* Five addresses in `events.csv` are not in `contacts.csv` (one with a complaint); they must
  not affect any row.
""")
    return s.getvalue()


if __name__ == "__main__":
    main()
