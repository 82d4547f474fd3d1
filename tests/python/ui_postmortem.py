"""The postmortem page renders the bundle's Markdown and offers Markdown and JSON downloads."""

from uibrowser import check, main


def scenario(b, args):
    b.open(f"/postmortem?since={args.since}&until={args.until}")
    b.settle()
    b.screenshot("postmortem")
    check("Not available" not in b.text(".notice-info strong"), "the postmortem API is not available on this server")
    headings = [h.text for h in b.all(".bundle .markdown h2, .bundle .markdown h3")]
    check(len(headings) >= 3, f"the bundle renders {headings} as headings")
    check(args.mentions in b.text(".bundle"), f"the bundle does not mention {args.mentions!r}")
    downloads = {a.get_attribute("download"): a.get_attribute("href") for a in b.all(".downloads a")}
    check("format=md" in downloads.get("postmortem.md", ""), f"no Markdown download: {downloads}")
    check("postmortem.json" in downloads, f"no JSON download: {downloads}")
    return {"headings": headings}


main(scenario, [
    ("--since", "window start, RFC 3339"),
    ("--until", "window end, RFC 3339"),
    ("--mentions", "text the bundle must contain, e.g. the new prompt version"),
])
