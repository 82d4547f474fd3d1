"""The home list filters by status and version, keeps the filters in its URL, and pages to
older requests and back."""

from urllib.parse import quote

from uibrowser import check, main


def rows(b):
    return [a.text for a in b.all(".list tbody tr td:nth-child(2) a")]


def scenario(b, args):
    b.open("/")
    b.settle()
    b.screenshot("home")
    newest = rows(b)
    check(len(newest) == 50, f"the home list shows {len(newest)} requests, not a page of 50")
    b.click(b.wait_css(".pager .pager-older", "the link to older requests"))
    b.settle()
    older = rows(b)
    check(older and not set(older) & set(newest), "the older page repeats requests of the first")
    check(b.all(".pager a[href='/']") or "Newest" in b.text(".pager"), "no way back to the newest page")

    b.open("/?status=error")
    b.settle()
    failed = b.all(".list tbody tr")
    check(failed, "no request listed with status=error")
    check(all("row-error" in r.get_attribute("class") for r in failed), "status=error lists requests that did not fail")
    check(b.all(".list-filters select[name=status] option[value=error][selected]"), "the status filter does not show its value")

    b.open("/?version=" + quote(f"prompt_version={args.version}"))
    b.settle()
    listed = rows(b)
    check(listed, f"no request listed with prompt_version={args.version}")
    check(set(listed) <= set(args.version_ids.split(",")), "the version filter lists requests of other versions")
    b.screenshot("home-filtered")
    return {"first_page": len(newest), "older_page": len(older), "errors": len(failed), "version": len(listed)}


main(scenario, [
    ("--version", "a prompt version some requests carried"),
    ("--version-ids", "comma-separated request ids of those requests"),
])
