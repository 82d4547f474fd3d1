"""The triage page shows the verdict beside the suspect-share series, with the onset, the
change markers, and every ruled-out change."""

from uibrowser import check, main


def scenario(b, args):
    b.open(f"/triage?since={args.since}&until={args.until}")
    b.settle()
    b.screenshot("triage")
    verdict = b.text(".verdict")
    check(args.dimension in verdict and args.value in verdict, f"the verdict does not name {args.dimension}={args.value}: {verdict!r}")
    check(len(b.all("svg.series path.line")) == 1, "no suspect-share line")
    check(len(b.all("svg.series .onset line")) == 1, "no onset rule on the chart")
    check(len(b.all("svg.series line.mark.cause")) == 1, "no marker for the cause's first sighting")
    ruled = [r.get_attribute("data-value") for r in b.all("table.ruled-out tbody tr")]
    check(args.ruled_out in ruled, f"{args.ruled_out!r} is not among the ruled-out rows {ruled}")
    steps = [s.get_attribute("data-layer") for s in b.all("ol.steps li")]
    check(steps == ["detect", "infra", "data", "prompt", "model"], f"steps out of the triage order: {steps}")
    return {"ruled_out": ruled, "steps": steps}


main(scenario, [
    ("--since", "window start, RFC 3339"),
    ("--until", "window end, RFC 3339"),
    ("--dimension", "the dimension the verdict must name"),
    ("--value", "the value the verdict must name"),
    ("--ruled-out", "a value that must be among the ruled-out rows"),
])
