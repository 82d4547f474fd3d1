"""The versions page shows the prompt-version change: the new value first seen in the
window, marked on the prompt_version timeline."""

from uibrowser import check, main


def scenario(b, args):
    b.open(f"/versions?since={args.since}&until={args.until}")
    b.settle()
    b.screenshot("versions")
    check("Not available" not in b.text(".notice-info strong"), "the versions API is not available on this server")
    changes = b.text('.changes .change[data-dimension="prompt_version"]')
    check(args.new_version in changes, f"the change to prompt version {args.new_version} is not listed: {changes!r}")
    rows = b.all('.dimension[data-dimension="prompt_version"] .tl-row')
    values = {r.get_attribute("data-value"): r for r in rows}
    check(args.old_version in values and args.new_version in values, f"prompt_version timeline has {list(values)}")
    check("is-new" in values[args.new_version].get_attribute("class"), "the new prompt version is not marked new")
    clipped = b.driver.execute_script(
        "return [...document.querySelectorAll('.tl-stats')]"
        ".filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)")
    check(not clipped, f"timeline text is cut off at this width: {clipped[:3]}")
    wide = b.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    check(wide <= 0, f"the page is {wide}px wider than the window")
    return {"values": list(values)}


main(scenario, [
    ("--since", "window start, RFC 3339"),
    ("--until", "window end, RFC 3339"),
    ("--old-version", "prompt version before the change"),
    ("--new-version", "prompt version after the change"),
])
