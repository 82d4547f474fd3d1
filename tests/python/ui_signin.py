"""With keys required, a page asks for a read key; a wrong key is refused; a read key opens
the page with its evidence (the page's API calls carry the sign-in cookie); signing out
asks again."""

from uibrowser import check, main


def sign_in(b, key):
    box = b.wait_css("form.signin input[name=key]", "the sign-in form")
    box.clear()
    box.send_keys(key)
    b.click(b.wait_css("form.signin button", "the sign-in button"))


def scenario(b, args):
    b.open("/r/" + args.request_id)
    b.wait_css("form.signin", "the sign-in form")
    check(not b.all(".exchange"), "evidence shown before signing in")
    b.screenshot("signin-form")
    # The page itself is answered 401, which the browser logs as a failed load: expected.
    b.console_errors()

    sign_in(b, "th_not_a_key")
    b.wait(lambda d: "not valid" in d.page_source, "the wrong key to be refused")
    b.console_errors()

    sign_in(b, args.key)
    b.wait(lambda d: d.current_url.endswith("/r/" + args.request_id), "the request page after signing in")
    b.settle()
    b.wait(lambda d: args.question in d.find_element("css selector", "#main").text, "the question on the page")
    b.screenshot("signed-in-request")

    b.click(b.wait_css("form.signout button", "the sign-out button"))
    b.wait_css("form.signin", "the sign-in form after signing out")
    b.console_errors()
    return {}


main(scenario, [
    ("--key", "a read key"),
    ("--request-id", "a stored request id"),
    ("--question", "text of its prompt"),
])
