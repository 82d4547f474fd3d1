"""The failing page lists the incident requests, and only those."""

import json

from uibrowser import check, main


def scenario(b, args):
    incident = set(json.loads(args.incident_ids))
    b.open(f"/failing?since={args.since}&until={args.until}&limit=50")
    b.settle()
    b.screenshot("failing")
    check(not b.all(".notice-info strong") or "Not available" not in b.text(".notice-info strong"),
          "the failing API is not available on this server")
    listed = [a.text for a in b.all(".example a.example-link")]
    check(listed, "no failing example is listed")
    strangers = [r for r in listed if r not in incident]
    check(not strangers, f"requests listed as failing that are not incident requests: {strangers}")
    reasons = b.all(".example .reason")
    check(reasons, "the examples show no reasons")
    return {"listed": len(listed)}


main(scenario, [
    ("--since", "window start, RFC 3339"),
    ("--until", "window end, RFC 3339"),
    ("--incident-ids", "JSON list of every incident request id"),
])
