"""The monitor page draws the quality series with uPlot, one line per version value, lists
what the alert rules would have fired and the version changes, and a drag across the chart
opens triage for that stretch."""

from urllib.parse import parse_qs, urlparse

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from uibrowser import check, main


def scenario(b, args):
    b.open(f"/monitor?since={args.since}&until={args.until}&by={args.by}")
    b.settle()
    b.wait_css(".monitor-chart .uplot canvas", "the uPlot chart")
    b.screenshot("monitor")
    legend = [e.text for e in b.all(".monitor-chart .u-legend .u-series .u-label")]
    for value in args.values.split(","):
        check(any(value in label for label in legend), f"no series for {value} in the legend {legend}")
    rules = [r.get_attribute("data-rule") for r in b.all("table.firings tbody tr")]
    check(args.rule in rules, f"{args.rule} is not among the firings {rules}")
    changes = [r.get_attribute("data-value") for r in b.all("table.changes tbody tr")]
    check(args.change in changes, f"{args.change} is not among the changes {changes}")
    evals = {r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text
             for r in b.all("table.evals tbody tr")}
    check(evals.get("sampling") == "off (backfill runs only)", f"online evaluation's card says {evals}")
    metrics = [o.get_attribute("value") for o in b.all("select[name=metric] option")]
    check("score_mean:refusal" in metrics, f"each check's scores are a metric: {metrics}")
    over = b.driver.find_element(By.CSS_SELECTOR, ".monitor-chart .u-over")
    b.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", over)
    ActionChains(b.driver).move_to_element_with_offset(over, -150, 0).click_and_hold().move_by_offset(300, 0).release().perform()
    b.wait(lambda d: "/triage?" in d.current_url, "the triage page of the selected stretch")
    query = parse_qs(urlparse(b.driver.current_url).query)
    since, until = query["since"][0], query["until"][0]
    check(args.since <= since < until <= args.until, f"the selection {since} .. {until} is outside the window")
    b.settle()
    return {"legend": legend, "firings": rules, "changes": changes, "evals": evals, "triage": [since, until]}


main(scenario, [
    ("--since", "window start, RFC 3339"),
    ("--until", "window end, RFC 3339"),
    ("--by", "the split"),
    ("--values", "comma-separated values that must have a series"),
    ("--rule", "a rule that must have fired"),
    ("--change", "a version value that must be listed as a change"),
])
