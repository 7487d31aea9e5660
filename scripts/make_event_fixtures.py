#!/usr/bin/env python3
"""Writes tests/fixtures/events/: one scenario of contacts, as each email service exports or
posts its events (field and event names from each service's documentation: see the README
there). Run from the repository root: python3 scripts/make_event_fixtures.py"""
import csv
import io
import json
import os
from datetime import datetime, timezone

OUT = "tests/fixtures/events"
DOMAIN = "acme-mail.com"

# (contact, kind, day, hour): kinds are sent, delivered, open, machine_open, hard, soft,
# complaint, unsubscribe.
SCENARIO = [
    ("complainer", "sent", "2026-01-05", 9), ("complainer", "delivered", "2026-01-05", 10),
    ("complainer", "complaint", "2026-01-06", 9),
    ("hardbounce", "sent", "2026-02-01", 9), ("hardbounce", "hard", "2026-02-01", 10),
    ("trap", "sent", "2025-01-10", 9), ("trap", "hard", "2025-01-10", 10),
    ("trap", "sent", "2025-03-10", 9), ("trap", "delivered", "2025-03-10", 10),
    ("trap", "sent", "2025-04-10", 9), ("trap", "delivered", "2025-04-10", 10),
    ("trap", "sent", "2025-05-10", 9), ("trap", "delivered", "2025-05-10", 10),
    ("inactive", "sent", "2024-05-01", 9), ("inactive", "delivered", "2024-05-01", 10),
    ("inactive", "open", "2024-05-02", 9),
    ("inactive", "sent", "2026-01-10", 9), ("inactive", "delivered", "2026-01-10", 10),
    ("inactive", "sent", "2026-02-10", 9), ("inactive", "delivered", "2026-02-10", 10),
    ("machine", "sent", "2026-01-10", 9), ("machine", "delivered", "2026-01-10", 10),
    ("machine", "machine_open", "2026-01-10", 11),
    ("machine", "sent", "2026-02-10", 9), ("machine", "delivered", "2026-02-10", 10),
    ("machine", "machine_open", "2026-02-10", 11),
    ("softactive", "sent", "2026-03-01", 9), ("softactive", "soft", "2026-03-01", 10),
    ("softactive", "sent", "2026-05-01", 9), ("softactive", "delivered", "2026-05-01", 10),
    ("softactive", "open", "2026-05-02", 9),
    ("unsub", "sent", "2026-04-01", 9), ("unsub", "delivered", "2026-04-01", 10),
    ("unsub", "unsubscribe", "2026-04-02", 9),
    ("resignup", "sent", "2023-01-01", 9), ("resignup", "delivered", "2023-01-01", 10),
    ("resignup", "open", "2023-01-02", 9),
    ("resignup", "sent", "2026-01-10", 9), ("resignup", "delivered", "2026-01-10", 10),
    ("resignup", "sent", "2026-02-10", 9), ("resignup", "delivered", "2026-02-10", 10),
]

HARD = "smtp; 550 5.1.1 user unknown"
SOFT = "552 5.2.2 Mailbox full"


def email(who):
    return f"{who}@{DOMAIN}"


def when(day, hour):
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def unix(day, hour):
    return int(when(day, hour).timestamp())


def iso(day, hour):
    return when(day, hour).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write(name, text):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        f.write(text)


def dump(records):
    return json.dumps(records, indent=1) + "\n"


def sendgrid():
    out = []
    for who, kind, day, hour in SCENARIO:
        base = {"email": email(who), "timestamp": unix(day, hour),
                "sg_event_id": f"ev{len(out)}", "sg_message_id": f"msg{len(out)}"}
        ev = {"sent": {"event": "processed"}, "delivered": {"event": "delivered", "response": "250 OK"},
              "open": {"event": "open", "sg_machine_open": False},
              "machine_open": {"event": "open", "sg_machine_open": True},
              "hard": {"event": "bounce", "type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 The email account that you tried to reach does not exist."},
              "soft": {"event": "bounce", "type": "bounce", "status": "5.2.2", "reason": SOFT},
              "complaint": {"event": "spamreport"}, "unsubscribe": {"event": "unsubscribe"}}[kind]
        out.append({**base, **ev})
    write("sendgrid.json", dump(out))
    # The CSV flattening of the same webhook events.
    cols = ["email", "timestamp", "event", "sg_machine_open", "type", "status", "reason", "sg_event_id"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in out:
        w.writerow(["" if r.get(c) is None else str(r.get(c)).lower() if isinstance(r.get(c), bool) else r.get(c) for c in cols])
    write("sendgrid.csv", buf.getvalue())


def mailgun():
    items = []
    for who, kind, day, hour in SCENARIO:
        base = {"id": f"id{len(items)}", "recipient": email(who), "timestamp": unix(day, hour) + 0.25,
                "log-level": "info"}
        ev = {"sent": {"event": "accepted"}, "delivered": {"event": "delivered"},
              "open": {"event": "opened"}, "machine_open": None,
              "hard": {"event": "failed", "severity": "permanent", "reason": "bounce", "log-level": "error",
                       "delivery-status": {"code": 550, "message": "5.1.1 The email account that you tried to reach does not exist.", "description": ""}},
              "soft": {"event": "failed", "severity": "temporary", "reason": "generic", "log-level": "warn",
                       "delivery-status": {"code": 452, "message": "4.2.2 The email account that you tried to reach is over quota.", "description": ""}},
              "complaint": {"event": "complained"}, "unsubscribe": {"event": "unsubscribed"}}[kind]
        if ev is None:
            continue
        items.append({**base, **ev})
    # The service refusing to send to the complainer afterwards: not a bounce.
    items.append({"id": "late", "recipient": email("complainer"), "timestamp": unix("2026-03-01", 9),
                  "event": "failed", "severity": "permanent", "reason": "suppress-complaint",
                  "log-level": "warn", "delivery-status": {"code": 605, "message": "", "description": "Not delivering to previously bounced address"}})
    write("mailgun.json", dump({"items": items, "paging": {}}))


def ses():
    lines = []
    sns = []
    for who, kind, day, hour in SCENARIO:
        mail = {"timestamp": iso(day, hour), "source": "news@sender.example.org",
                "messageId": f"m{len(lines)}", "destination": [email(who)]}
        if kind == "hard" and who == "hardbounce":
            # One bounce naming two recipients.
            mail["destination"] = [email("hardbounce"), email("cobounce")]
            rec = {"eventType": "Bounce", "mail": mail, "bounce": {
                "bounceType": "Permanent", "bounceSubType": "General", "timestamp": iso(day, hour),
                "bouncedRecipients": [
                    {"emailAddress": email("hardbounce"), "action": "failed", "status": "5.1.1", "diagnosticCode": HARD},
                    {"emailAddress": email("cobounce"), "action": "failed", "status": "5.1.1", "diagnosticCode": HARD}]}}
        elif kind in ("hard", "soft"):
            code = "5.1.1" if kind == "hard" else "5.2.2"
            rec = {"eventType": "Bounce", "mail": mail, "bounce": {
                "bounceType": "Permanent" if kind == "hard" else "Transient",
                "bounceSubType": "General" if kind == "hard" else "MailboxFull", "timestamp": iso(day, hour),
                "bouncedRecipients": [{"emailAddress": email(who), "action": "failed", "status": code,
                                        "diagnosticCode": HARD if kind == "hard" else SOFT}]}}
        elif kind == "machine_open":
            continue
        else:
            name, key = {"sent": ("Send", "send"), "delivered": ("Delivery", "delivery"), "open": ("Open", "open"),
                         "complaint": ("Complaint", "complaint"), "unsubscribe": ("Subscription", "subscription")}[kind]
            rec = {"eventType": name, "mail": mail}
            body = {"timestamp": iso(day, hour)}
            if kind == "delivered":
                body["recipients"] = [email(who)]
                body["smtpResponse"] = "250 2.6.0 Message received"
            if kind == "complaint":
                body["complainedRecipients"] = [{"emailAddress": email(who)}]
                body["complaintFeedbackType"] = "abuse"
            if kind == "unsubscribe":
                body["contactList"] = "news"
                body["newTopicPreferences"] = {"unsubscribeAll": True}
            rec[key] = body
        lines.append(json.dumps(rec))
        if rec["eventType"] in ("Bounce", "Complaint", "Delivery"):
            note = dict(rec)
            note["notificationType"] = note.pop("eventType")
            sns.append({"Type": "Notification", "MessageId": f"sns{len(sns)}",
                        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-feedback",
                        "Message": json.dumps(note), "Timestamp": iso("2026-11-01", 0)})
    write("ses.ndjson", "\n".join(lines) + "\n")
    write("ses_sns.json", dump(sns))


def postmark():
    out = []
    for who, kind, day, hour in SCENARIO:
        t = iso(day, hour)
        ev = {"sent": None, "delivered": {"RecordType": "Delivery", "Recipient": email(who), "DeliveredAt": t, "Details": "Test delivery"},
              "open": {"RecordType": "Open", "Recipient": email(who), "ReceivedAt": t, "FirstOpen": True},
              "machine_open": None,
              "hard": {"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "Email": email(who), "BouncedAt": t, "Details": HARD},
              "soft": {"RecordType": "Bounce", "Type": "SoftBounce", "TypeCode": 4096, "Email": email(who), "BouncedAt": t, "Details": SOFT},
              "complaint": {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "Email": email(who), "BouncedAt": t},
              "unsubscribe": {"RecordType": "SubscriptionChange", "Recipient": email(who), "ChangedAt": t, "SuppressSending": True, "SuppressionReason": "ManualSuppression"}}[kind]
        if ev:
            out.append({**ev, "MessageID": f"pm{len(out)}", "MessageStream": "outbound"})
    write("postmark.json", dump(out))


def mailjet():
    out = []
    for who, kind, day, hour in SCENARIO:
        base = {"time": unix(day, hour), "email": email(who), "mj_campaign_id": 7, "mj_contact_id": 42, "MessageID": 1000 + len(out)}
        ev = {"sent": None, "delivered": {"event": "sent", "smtp_reply": "250 OK"},
              "open": {"event": "open"}, "machine_open": None,
              "hard": {"event": "bounce", "blocked": False, "hard_bounce": True, "error_related_to": "recipient", "error": "user unknown"},
              "soft": {"event": "bounce", "blocked": False, "hard_bounce": False, "error_related_to": "recipient", "error": "quota exceeded"},
              "complaint": {"event": "spam", "source": "JMRPP"}, "unsubscribe": {"event": "unsub"}}[kind]
        if ev:
            out.append({**ev, **base})
    write("mailjet.json", dump(out))


def brevo():
    out = []
    for who, kind, day, hour in SCENARIO:
        base = {"email": email(who), "date": when(day, hour).strftime("%Y-%m-%d %H:%M:%S"),
                "ts_event": unix(day, hour), "message-id": f"<b{len(out)}@relay>", "subject": "News"}
        ev = {"sent": {"event": "request"}, "delivered": {"event": "delivered"},
              "open": {"event": "unique_opened"}, "machine_open": {"event": "proxy_open"},
              "hard": {"event": "hard_bounce", "reason": HARD}, "soft": {"event": "soft_bounce", "reason": SOFT},
              "complaint": {"event": "spam"}, "unsubscribe": {"event": "unsubscribed"}}[kind]
        out.append({**ev, **base})
    write("brevo.json", dump(out))


def sparkpost():
    out = []
    for who, kind, day, hour in SCENARIO:
        base = {"rcpt_to": email(who), "timestamp": str(unix(day, hour)), "message_id": f"sp{len(out)}"}
        group, ev = {"sent": ("message_event", {"type": "injection"}), "delivered": ("message_event", {"type": "delivery"}),
                     "open": ("track_event", {"type": "open"}), "machine_open": (None, None),
                     "hard": ("message_event", {"type": "bounce", "bounce_class": "10", "raw_reason": HARD, "error_code": "550"}),
                     "soft": ("message_event", {"type": "bounce", "bounce_class": "22", "raw_reason": SOFT, "error_code": "552"}),
                     "complaint": ("message_event", {"type": "spam_complaint", "fbtype": "abuse"}),
                     "unsubscribe": ("unsubscribe_event", {"type": "list_unsubscribe"})}[kind]
        if group:
            out.append({"msys": {group: {**ev, **base}}})
    write("sparkpost.json", dump(out))


def klaviyo():
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Email", "Metric", "Timestamp", "Apple Privacy Open", "Bounce Type"])
    for who, kind, day, hour in SCENARIO:
        metric, apple, bounce = {"sent": (None, "", ""), "delivered": ("Received Email", "", ""),
                                 "open": ("Opened Email", "False", ""), "machine_open": ("Opened Email", "True", ""),
                                 "hard": ("Bounced Email", "", "hard"), "soft": ("Bounced Email", "", "soft"),
                                 "complaint": ("Marked Email as Spam", "", ""), "unsubscribe": ("Unsubscribed", "", "")}[kind]
        if metric:
            w.writerow([email(who), metric, iso(day, hour), apple, bounce])
    write("klaviyo.csv", buf.getvalue())


def mailchimp():
    emails = {}
    for who, kind, day, hour in SCENARIO:
        action = {"open": ("open", ""), "hard": ("bounce", "hard"), "soft": ("bounce", "soft")}.get(kind)
        if action:
            emails.setdefault(who, []).append({"action": action[0], "type": action[1],
                                               "timestamp": when(day, hour).strftime("%Y-%m-%dT%H:%M:%S+00:00"), "ip": ""})
    out = {"emails": [{"campaign_id": "42694e9e57", "list_id": "57afe96172", "email_id": f"e{i}",
                       "email_address": email(who), "activity": acts} for i, (who, acts) in enumerate(emails.items())],
           "campaign_id": "42694e9e57", "total_items": len(emails)}
    write("mailchimp.json", dump(out))


def generic():
    """listwash's own columns, written as CSV, JSON and NDJSON (the Parquet copy is made by the test)."""
    rows = []
    for who, kind, day, hour in SCENARIO:
        event, machine, status = {"sent": ("sent", "", ""), "delivered": ("delivered", "", ""), "open": ("open", "false", ""),
                                  "machine_open": ("open", "true", ""), "hard": ("bounce", "", HARD),
                                  "soft": ("bounce", "", SOFT), "complaint": ("complaint", "", ""),
                                  "unsubscribe": ("unsubscribe", "", "")}[kind]
        rows.append({"email": email(who), "event": event, "timestamp": iso(day, hour), "machine": machine, "status": status})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n", delimiter=";")
    w.writeheader()
    w.writerows(rows)
    write("generic.csv", buf.getvalue())
    write("generic.json", dump(rows))
    write("generic.ndjson", "".join(json.dumps(r) + "\n" for r in rows))


def contacts():
    who = sorted({w for w, *_ in SCENARIO} | {"cobounce"})
    lines = ["email,signup_date"] + [f"{email(w)},{'2026-10-01' if w == 'resignup' else '2020-01-01'}" for w in who]
    write("contacts.csv", "\n".join(lines) + "\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for make in (sendgrid, mailgun, ses, postmark, mailjet, brevo, sparkpost, klaviyo, mailchimp, generic, contacts):
        make()
