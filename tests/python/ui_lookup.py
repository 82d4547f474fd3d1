"""Typing a request id into the home page's box opens the request, showing its exact
question, its final answer and its tool call."""

from selenium.webdriver.common.keys import Keys

from uibrowser import check, main


def scenario(b, args):
    b.open("/")
    box = b.wait_css("#idbox", "the id box")
    b.wait_css("table.list a", "the recent requests list")
    b.screenshot("home")
    box.send_keys(args.request_id, Keys.ENTER)
    b.wait(lambda d: d.current_url.endswith("/r/" + args.request_id), "the request page URL")
    b.wait_css(".exchange", "the exchange card")
    question = b.text(".exchange .turn.user")
    answer = b.text(".exchange .turn.assistant")
    tools = b.text(".exchange .toolcall")
    check(args.question in question, f"question {args.question!r} not shown; the card shows {question!r}")
    check(args.answer in answer, f"final answer {args.answer!r} not shown; the card shows {answer!r}")
    check(args.tool in tools, f"tool {args.tool!r} not shown; tool calls: {tools!r}")
    check(args.tool_arguments_fragment in tools, f"tool arguments {args.tool_arguments_fragment!r} not shown: {tools!r}")
    rows = b.all(".wf-row")
    check(len(rows) == int(args.span_count), f"{len(rows)} waterfall rows for {args.span_count} spans")
    check(b.all(".wf-detail .llm"), "the first LLM call's detail is not shown")
    b.screenshot("request")
    # The tool span's own detail: arguments and result.
    tool_row = [r for r in rows if "TOOL" in r.text.upper() and args.tool in r.text]
    check(tool_row, "no tool row in the waterfall")
    b.click(tool_row[0])
    detail = b.wait_css(".wf-detail .toolcall", "the tool span's detail").text
    check(args.tool_arguments_fragment in detail, f"tool detail lacks the arguments: {detail!r}")
    b.screenshot("request-tool-span")
    return {"rows": len(rows)}


main(scenario, [
    ("--request-id", "request id to type"),
    ("--question", "exact question"),
    ("--answer", "exact final answer"),
    ("--tool", "tool name"),
    ("--tool-arguments-fragment", "part of the tool call's arguments"),
    ("--span-count", "spans of the request"),
])
