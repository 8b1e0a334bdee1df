"""The live page in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``) via Selenium.

Against ``twistd -n cpppo-enip --web 127.0.0.1:0``: a pylogix write appears on the page
(it polls the JSON API), a value written with the page's form is read by pylogix, and
an error forced from the page fails pylogix's reads until cleared there.  A screenshot
is saved in the test's temporary directory and its path printed.

Without Chromium, chromedriver or Selenium the test is skipped, unless ``CI`` is set:
then a missing browser is a failure.  The browser runs with a throwaway profile and
background networking off; it is only pointed at 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from tests import enip_server_fixture as fx
from tests.test_enip_web_e2e import plc, web_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or shutil.which("chromium-driver")


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser test needs {why} (CI is set, so this is not skipped)", pytrace=False)
    pytest.skip(f"no {why}")


@pytest.fixture
def browser(tmp_path, monkeypatch):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium (pip install selenium)")
    if not CHROMIUM or not CHROMEDRIVER:
        _missing("chromium and chromium-driver (apt-get install chromium chromium-driver)")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--window-size=1100,1300", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()  # stops chromedriver and the browser, and reaps them


@pytest.fixture
def server():
    with fx.TwistdEnipServer.start(("SCADA=INT[100]", "TEMP=REAL"), extra_args=["--web", "127.0.0.1:0"]) as srv:
        srv.web = f"http://127.0.0.1:{web_port(srv.output)}"
        yield srv


def eventually(check, timeout: float = 10.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_live_page_sees_and_makes_changes(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.web + "/")
    wait = WebDriverWait(browser, 10)
    wait.until(ec.text_to_be_present_in_element((By.ID, "value-3"), "0"))
    assert "SCADA" in browser.find_element(By.ID, "tags").text

    with plc(server.port) as comm:
        # an EtherNet/IP write shows up on the page
        assert comm.Write("SCADA[3]", 1234).Status == "Success"
        wait.until(ec.text_to_be_present_in_element((By.ID, "value-3"), "1234"))
        assert "127.0.0.1" in browser.find_element(By.ID, "connections").text  # pylogix's connection is listed

        # a value written on the page is read over EtherNet/IP
        for field, text in (("write-index", "5"), ("write-value", "4321")):
            element = browser.find_element(By.ID, field)
            element.clear()
            element.send_keys(text)
        browser.find_element(By.ID, "write-submit").click()
        assert eventually(lambda: comm.Read("SCADA[5]").Value == 4321), comm.Read("SCADA[5]")
        wait.until(ec.text_to_be_present_in_element((By.ID, "value-5"), "4321"))

        # an error forced on the page fails the client's reads, until cleared there
        browser.find_element(By.ID, "error-submit").click()
        assert eventually(lambda: comm.Read("SCADA[0]").Status != "Success")
        wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "tags.SCADA.error='8'"))
        shot = tmp_path / "live_page.png"
        browser.save_screenshot(str(shot))
        print(f"\nscreenshot of the live page: {shot}")
        browser.find_element(By.ID, "error-clear").click()
        assert eventually(lambda: comm.Read("SCADA[0]").Status == "Success")
    assert shot.stat().st_size > 0
