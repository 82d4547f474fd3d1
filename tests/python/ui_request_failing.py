"""A failing request's page says so where a ticket lands: a "failing" pill beside its
status and a banner naming each reason, even when no span has error status."""

from uibrowser import check, main


def scenario(b, args):
    b.open("/r/" + args.request_id)
    banner = b.wait_css(".req-head ~ .errors[role=alert]", "the failing banner")
    text = banner.text.lower()
    check(args.reason in text, f"the banner does not name {args.reason!r}: {banner.text!r}")
    pills = [p.text for p in b.all(".req-head .pill")]
    check("failing" in pills, f"no failing pill in the header; it shows {pills}")
    b.screenshot("request-failing")
    return {"banner": banner.text}


main(scenario, [
    ("--request-id", "id of a failing request"),
    ("--reason", "a reason kind the banner must name"),
])
