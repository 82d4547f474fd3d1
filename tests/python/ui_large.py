"""A request of thousands of spans and a megabyte prompt renders lazily: the prompt is cut
with a "show all" toggle, and span rows are built as their parents are opened."""

from uibrowser import check, main


def scenario(b, args):
    b.open("/r/" + args.request_id)
    b.wait_css(".waterfall .wf-row", "the waterfall")
    b.settle()
    total = int(args.span_count)
    rows = len(b.all(".wf-row"))
    check(rows < total, f"all {total} span rows were built at once ({rows})")
    more = b.all(".wf-more")
    check(more, "no button to show further spans")
    b.click(more[0])
    b.wait(lambda d: len(b.all(".wf-row")) > rows, "more span rows")
    cut = [btn for btn in b.all("button.more") if btn.text.startswith("Show all")]
    check(cut, "the megabyte prompt is not cut behind a 'Show all' toggle")
    b.screenshot("request-large")
    b.click(cut[0])
    b.wait(lambda d: d.execute_script(
        "return [...document.querySelectorAll('pre.text')].some(p => p.textContent.length >= arguments[0])", int(args.prompt_chars)),
        "the whole prompt after 'Show all'")
    return {"rows_at_first": rows}


main(scenario, [
    ("--request-id", "the large request"),
    ("--span-count", "its spans"),
    ("--prompt-chars", "length of its long prompt"),
])
