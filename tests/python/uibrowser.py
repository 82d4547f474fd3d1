"""Headless Chromium for the UI tests: started with a fresh profile, driven by Selenium,
and stopped by PID, with every browser process it spawned.

Each ui_*.py scenario calls `run(scenario)`: it parses the common flags (--base, --artifacts),
runs the scenario with a Browser, prints the scenario's JSON result on stdout and exits 0,
or prints what failed on stderr and exits 1.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("TRACEHOUND_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRACEHOUND_CHROMEDRIVER", "/usr/bin/chromedriver")
# Waits bound how long a broken page can hang a test; they are not speed targets.
WAIT_SECONDS = 30

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
]


class ScenarioFailed(Exception):
    """A check of the scenario did not hold."""


def check(condition, message):
    """Fails the scenario with `message` unless `condition` holds."""
    if not condition:
        raise ScenarioFailed(message)


def descendants(pid):
    """PIDs of every living process below `pid`, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the parent PID follows the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Browser:
    """One headless Chromium under chromedriver."""

    def __init__(self, base, artifacts):
        self.base = base.rstrip("/")
        self.artifacts = artifacts
        self.profile = tempfile.mkdtemp(prefix="tracehound-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(executable_path=CHROMEDRIVER, port=0)
        self.driver = None
        self.driver_pid = None
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.driver_pid = self.service.process.pid
        self.console = []

    def close(self):
        """Quits the browser, then kills by PID whatever chromedriver left behind."""
        spawned = descendants(self.driver_pid) if self.driver_pid else []
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            kill_pids(spawned + descendants(self.driver_pid or -1))
            if self.driver_pid:
                kill_pids([self.driver_pid])
            shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, path):
        self.driver.get(self.base + path)

    def wait(self, condition, what):
        """Waits until `condition(driver)` is truthy and returns it; fails naming `what`."""
        try:
            return WebDriverWait(self.driver, WAIT_SECONDS, poll_frequency=0.1).until(condition)
        except Exception as e:
            self.screenshot("FAILED-" + what.replace(" ", "-")[:40])
            raise ScenarioFailed(f"timed out waiting for {what} on {self.driver.current_url}") from e

    def wait_css(self, selector, what=None):
        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, selector) if d.find_elements(By.CSS_SELECTOR, selector) else None, what or selector)

    def click(self, element):
        """Clicks an element after scrolling it to mid-screen, clear of the sticky top bar."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector):
        return "\n".join(e.text for e in self.all(selector))

    def settle(self):
        """Waits until the page's loading placeholders are gone."""
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete" and not d.find_elements(By.CSS_SELECTOR, ".loading"), "the page to finish loading")

    def screenshot(self, name):
        os.makedirs(self.artifacts, exist_ok=True)
        path = os.path.join(self.artifacts, name + ".png")
        # The whole page, not just the window: the evidence is often below the fold.
        height = self.driver.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
        self.driver.set_window_size(1440, max(900, int(height)))
        self.driver.save_screenshot(path)
        self.driver.set_window_size(1440, 1000)
        return path

    def console_errors(self):
        """Console errors since the last call: script errors and refused content (CSP)."""
        logs = self.driver.get_log("browser")
        self.console.extend(logs)
        return [l["message"] for l in logs if l.get("level") == "SEVERE" and "favicon" not in l["message"]]


def run(scenario, extra_args=()):
    """Runs `scenario(browser, args)` and reports its result as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the server's API address, http://host:port")
    parser.add_argument("--artifacts", required=True, help="directory for screenshots")
    for name, help_text in extra_args:
        parser.add_argument(name, required=True, help=help_text)
    args = parser.parse_args()
    browser = None
    try:
        browser = Browser(args.base, args.artifacts)
        result = scenario(browser, args) or {}
        errors = browser.console_errors()
        check(not errors, f"the browser console reported errors: {errors}")
        print(json.dumps(result))
        return 0
    except Exception as e:
        if isinstance(e, ScenarioFailed):
            print(f"FAILED: {e}", file=sys.stderr)
        else:
            traceback.print_exc()
        return 1
    finally:
        if browser is not None:
            browser.close()


def main(scenario, extra_args=()):
    sys.exit(run(scenario, extra_args))


def poll(fn, seconds=WAIT_SECONDS):
    """Calls fn until it returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
