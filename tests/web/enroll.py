#!/usr/bin/env python3
"""A real browser for tests/web_enroll.rs: Debian's chromium, headless, driven by chromedriver
through Selenium, answering one JSON command per line on stdin with one JSON line on stdout.

The Rust test decides what to do and what to assert; this script only does what a person does
in the browser (open a link, type, press a button, read the page) and reports what the browser
saw, including each document's HTTP status (from chromedriver's performance log, since
WebDriver itself does not expose it).

    python3 tests/web/enroll.py --artifacts DIR [--phone | --window WxH]

Commands (objects with "cmd"), each answered {"ok": true, ...} or {"ok": false, "error": ...}:
  open {url}                    navigate; answers the page
  page                          the page as it is now
  type {id, text}               clear the input #id and type text
  click {css}                   click an element (no navigation expected)
  submit {id}                   click #id and wait for the next document; answers the page
  text {id} / displayed {id}    an element's visible text / whether it is shown
  attribute {id, name}          an element's attribute
  screenshot {name}             the viewport as DIR/NAME.png
  element_screenshot {id, name} only the element #id as DIR/NAME.png
  script {js}                   WebDriver's execute_script (the page's CSP does not apply)
  cookies                       the browser's cookies (HttpOnly ones included)
  quit                          close the browser and exit
"""

import argparse
import json
import os
import sys
import traceback

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    sys.stderr.write(
        f"tests/web/enroll.py: Selenium is not installed for {sys.executable} ({e}). "
        f"Install it for the python3 first on PATH with: python3 -m pip install selenium\n"
    )
    sys.exit(3)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Every wait is bounded: a page load, a script, a new document after a click.
PAGE_LOAD_SECONDS = 20
WAIT_SECONDS = 10
# The phone the main run looks like (an iPhone 12-14 sized viewport).
PHONE = {"width": 390, "height": 844, "pixelRatio": 2}
PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


def reply(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


class Browser:
    def __init__(self, artifacts, phone, window):
        options = Options()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
            options.add_argument(argument)
        if phone:
            options.add_experimental_option(
                "mobileEmulation", {"deviceMetrics": PHONE, "userAgent": PHONE_AGENT}
            )
        else:
            options.add_argument(f"--window-size={window}")
        # Document responses (and their statuses) come from the performance log.
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
        self.driver.set_script_timeout(WAIT_SECONDS)
        self.artifacts = artifacts
        self.status = None
        self.documents = []

    def drain(self):
        """Read the performance log: the documents received (redirects included)."""
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            params = message.get("params", {})
            if params.get("type") != "Document":
                continue
            # Chromium's own start page (data:,) may be reported late: only the server counts.
            url = params.get("documentURL") or params.get("response", {}).get("url", "")
            if not url.startswith(("http://", "https://")):
                continue
            if message.get("method") == "Network.requestWillBeSent":
                redirect = params.get("redirectResponse")
                if redirect:
                    self.documents.append({"url": redirect["url"], "status": redirect["status"]})
            elif message.get("method") == "Network.responseReceived":
                response = params["response"]
                self.documents.append({"url": response["url"], "status": response["status"]})
                self.status = response["status"]

    def by_id(self, element_id):
        found = self.driver.find_elements(By.ID, element_id)
        return found[0] if found else None

    def text_of(self, element_id):
        element = self.by_id(element_id)
        return None if element is None else element.text

    def page(self):
        self.drain()
        documents, self.documents = self.documents, []
        return {
            "url": self.driver.current_url,
            "status": self.status,
            "documents": documents,
            "title": self.text_of("title"),
            "message": self.text_of("message"),
            "error": self.text_of("error"),
            "ids": [
                e.get_attribute("id") for e in self.driver.find_elements(By.CSS_SELECTOR, "[id]")
            ],
            "source": self.driver.page_source,
            "viewport": self.driver.execute_script(
                "return [window.innerWidth, window.innerHeight,"
                " document.documentElement.scrollWidth]"
            ),
        }

    def wait_loaded(self):
        WebDriverWait(self.driver, WAIT_SECONDS).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def path(self, name):
        return os.path.join(self.artifacts, f"{name}.png")

    def run(self, command):
        cmd = command["cmd"]
        if cmd == "open":
            self.drain()
            self.documents = []
            self.driver.get(command["url"])
            self.wait_loaded()
            return self.page()
        if cmd == "page":
            return self.page()
        if cmd == "type":
            element = self.driver.find_element(By.ID, command["id"])
            element.clear()
            element.send_keys(command["text"])
            return {}
        if cmd == "click":
            self.driver.find_element(By.CSS_SELECTOR, command["css"]).click()
            return {}
        if cmd == "submit":
            self.drain()
            self.documents = []
            # The old document's window carries a mark; the next document's does not. (While
            # the browser is between documents, WebDriver calls may fail: they are retried.)
            self.driver.execute_script("window.radotpOldDocument = true")
            self.driver.find_element(By.ID, command["id"]).click()
            WebDriverWait(
                self.driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)
            ).until(
                lambda d: d.execute_script(
                    "return window.radotpOldDocument !== true"
                    " && document.readyState === 'complete'"
                )
            )
            return self.page()
        if cmd == "text":
            return {"text": self.text_of(command["id"])}
        if cmd == "displayed":
            element = self.by_id(command["id"])
            return {"displayed": element is not None and element.is_displayed()}
        if cmd == "attribute":
            element = self.by_id(command["id"])
            value = None if element is None else element.get_attribute(command["name"])
            return {"value": value}
        if cmd == "screenshot":
            path = self.path(command["name"])
            if not self.driver.save_screenshot(path):
                raise RuntimeError(f"no screenshot written to {path}")
            return {"path": path}
        if cmd == "element_screenshot":
            path = self.path(command["name"])
            if not self.driver.find_element(By.ID, command["id"]).screenshot(path):
                raise RuntimeError(f"no screenshot written to {path}")
            return {"path": path}
        if cmd == "script":
            return {"value": self.driver.execute_script(command["js"])}
        if cmd == "cookies":
            return {"cookies": self.driver.get_cookies()}
        raise ValueError(f"unknown command {cmd!r}")

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", required=True, help="folder for the screenshots")
    parser.add_argument("--phone", action="store_true", help="a phone's viewport (390x844)")
    parser.add_argument("--window", default="1280,900", help="desktop window size W,H")
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    try:
        browser = Browser(args.artifacts, args.phone, args.window)
    except WebDriverException as e:
        sys.stderr.write(f"tests/web/enroll.py: chromium did not start: {e}\n")
        return 4
    try:
        version = browser.driver.capabilities.get("browserVersion")
        reply({"ok": True, "ready": True, "browser": version})
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            if command.get("cmd") == "quit":
                reply({"ok": True})
                break
            try:
                answer = browser.run(command)
                answer["ok"] = True
            except (WebDriverException, NoSuchElementException, RuntimeError, ValueError) as e:
                traceback.print_exc(file=sys.stderr)
                answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            reply(answer)
    finally:
        browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
