"""A prompt holding markup is shown as text: its <script> and event handlers never run."""

from uibrowser import check, main


def scenario(b, args):
    b.open("/r/" + args.request_id)
    b.wait_css(".exchange", "the exchange card")
    b.settle()
    question = b.text(".exchange .turn.user")
    check("<script>" in question, f"the <script> text is not displayed: {question!r}")
    check("<img" in question, f"the <img> text is not displayed: {question!r}")
    pwned = b.driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")
    check(pwned is None, f"the stored prompt's script ran: window.__pwned = {pwned!r}")
    check(not b.all("main script, main img[src='x']"), "the stored markup became elements")
    b.screenshot("request-script-prompt")
    return {"shown": True}


main(scenario, [("--request-id", "the request whose prompt holds markup")])
