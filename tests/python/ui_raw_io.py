"""An LLM call recorded without messages, only its raw input.value and output.value, shows
that raw text on the request page instead of "nothing recorded"."""

from uibrowser import check, main


def scenario(b, args):
    b.open("/r/" + args.request_id)
    b.wait_css(".exchange", "the request's exchange")
    b.settle()
    question = b.text(".exchange .turn.user")
    check(args.raw_input in question, f"the question card does not show the raw input: {question!r}")
    answer = b.text(".exchange .turn.assistant")
    check(args.raw_output in answer, f"the answer card does not show the raw output: {answer!r}")
    b.screenshot("request-raw-io")
    return {"question": question[:80]}


main(scenario, [
    ("--request-id", "request id"),
    ("--raw-input", "text of the LLM span's input.value"),
    ("--raw-output", "text of the LLM span's output.value"),
])
