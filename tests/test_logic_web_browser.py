"""The live page's Program section in a real browser (headless Chromium via Selenium, as
tests/test_enip_web_browser.py runs it), against ``twistd -n cpppo-enip --l5x conveyor.L5X --web``.

The page shows the program's mode, scans and routines; its Program and Run buttons switch the
mode, which pycomm3 sees as the controller's key switch.  Skipped without Chromium, unless CI is set.
"""

from __future__ import annotations

import pytest
from pycomm3 import LogixDriver

from cpppo.tests.resources import data_file
from tests import enip_server_fixture as fx
from tests.test_enip_web_browser import browser, eventually  # noqa: F401 (the browser fixture)
from tests.test_enip_web_e2e import web_port


def _serving(export: str):
    """``twistd -n cpppo-enip --l5x data/logic/<export> --web``, its web address in ``.web``."""
    extra = ["--l5x", data_file(f"logic/{export}"), "--web", "127.0.0.1:0"]
    with fx.TwistdEnipServer.start((), extra_args=extra) as srv:
        srv.web = f"http://127.0.0.1:{web_port(srv.output)}"
        yield srv


@pytest.fixture
def server():
    yield from _serving("conveyor.L5X")


def _keyswitch(port: int) -> str:
    with LogixDriver(f"127.0.0.1:{port}", init_tags=False, init_program_tasks=False) as driver:
        return driver.get_plc_info()["keyswitch"]


def test_program_section_shows_and_switches_the_mode(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.web + "/")
    wait = WebDriverWait(browser, 10)
    wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Run"))
    assert browser.find_element(By.ID, "program-section").is_displayed()
    routines = browser.find_element(By.ID, "routines").text
    assert "Line" in routines and "Main" in routines and "running" in routines
    assert eventually(lambda: int(browser.find_element(By.ID, "logic-scans").text or 0) > 0)

    browser.find_element(By.ID, "mode-program").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Program"))
    assert _keyswitch(server.port) == "REMOTE PROG"
    browser.find_element(By.ID, "mode-run").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Run"))
    assert _keyswitch(server.port) == "REMOTE RUN"


@pytest.fixture
def faulting():
    yield from _serving("faults.L5X")


def test_program_section_shows_a_major_fault_and_clears_it(faulting, browser):  # noqa: F811
    """A JSR to a routine the program does not have: the page shows Faulted and the type and code (4/31);
    its Clear fault button returns the controller to Run, which pycomm3 sees as the key switch."""
    import pylogix
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(faulting.web + "/")
    wait = WebDriverWait(browser, 10)
    wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Run"))
    with pylogix.PLC("127.0.0.1", port=faulting.port, timeout=5.0) as comm:
        assert comm.Write("CallMissing", True).Status == "Success"
        wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Faulted"))
        assert "major fault type 4 code 31" in browser.find_element(By.ID, "logic-fault").text
        assert comm.Write("CallMissing", False).Status == "Success"
    browser.find_element(By.ID, "fault-clear").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "logic-mode"), "Run"))
    assert "major fault" not in browser.find_element(By.ID, "logic-fault").text
    assert _keyswitch(faulting.port) == "REMOTE RUN"
