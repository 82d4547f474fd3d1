"""A session page lists its requests in order, as a transcript whose turns expand into
their traces."""

import json

from uibrowser import check, main


def scenario(b, args):
    expected = json.loads(args.request_ids)
    b.open("/s/" + args.session_id)
    b.wait_css(".transcript .turn-card", "the transcript")
    shown = [a.text for a in b.all(".turn-card .turn-meta a")]
    check(shown == expected, f"turns {shown} are not the session's requests in order {expected}")
    check(args.question in b.text(".turn-card:first-child .bubble.user"), "the first turn's question is missing")
    totals = b.text(".session-totals")
    check("tokens" in totals and "time waited" in totals, f"the session's totals are missing: {totals!r}")
    b.click(b.all(".turn-card:first-child .trace-fold > summary")[0])
    b.wait_css(".turn-card:first-child .inline-trace .wf-row", "the first turn's trace")
    b.screenshot("session")
    return {"turns": len(shown)}


main(scenario, [
    ("--session-id", "session id"),
    ("--request-ids", "JSON list of its request ids, oldest first"),
    ("--question", "the first turn's question"),
])
