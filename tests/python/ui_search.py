"""Searching for a phrase from the home page's box lists the request that holds it, with
the phrase highlighted, and its link opens that request."""

from selenium.webdriver.common.keys import Keys

from uibrowser import check, main


def scenario(b, args):
    b.open("/")
    b.wait_css("#idbox", "the id box").send_keys(args.query, Keys.ENTER)
    b.wait(lambda d: "/search?q=" in d.current_url, "the search page")
    b.wait_css(".results .result", "search results")
    b.settle()
    links = b.all(".result a.result-link")
    hrefs = [l.get_attribute("href") for l in links]
    wanted = [l for l in links if l.get_attribute("href").endswith("/r/" + args.request_id)]
    check(wanted, f"no result links to /r/{args.request_id}: {hrefs}")
    marks = [m.text.lower() for m in b.all(".result mark")]
    check(args.highlight.lower() in " ".join(marks), f"{args.highlight!r} is not highlighted; marks: {marks[:10]}")
    b.screenshot("search")
    b.click(wanted[0])
    b.wait(lambda d: d.current_url.endswith("/r/" + args.request_id), "the result's request page")
    b.wait_css(".exchange", "the request's exchange")
    return {"results": len(links)}


main(scenario, [
    ("--query", "the text to type"),
    ("--request-id", "the request expected among the results"),
    ("--highlight", "a word that must be highlighted"),
])
