"""The page in a real headless browser (Debian's chromium with chromedriver, through selenium):
it connects, plays, the drawing changes and the loss curves grow; bad input shows an error.

Skipped, saying why, where chromium, chromedriver or selenium is missing; .ci/run installs
them (apt-get install chromium chromium-driver), so CI runs it.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# a fresh profile and no background traffic: chromium must not try the network
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,800")


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return (f"{path} is missing: install Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver, as .ci/run does)")
    try:
        import selenium  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        return f"{err.name} is missing: pip install -e '.[test,explore]'"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from ganforge.explore.server import create_app

    port = free_port()
    config = uvicorn.Config(create_app(tmp_path / "runs"), host="127.0.0.1", port=port,
                            ws="websockets-sansio", log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the explorer did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium's manager must not fetch drivers
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, seconds: float = 60.0):
    """Poll a JS expression until it is truthy; its value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {script}")


def test_play_changes_the_drawing_and_grows_the_curves(server, browser):
    browser.get(server)
    wait_for(browser, "window.explore.frames >= 1 && window.explore.scene !== null")
    scene = browser.execute_script("return document.getElementById('scene').toDataURL()")
    losses = browser.execute_script("return document.getElementById('loss-curve').toDataURL()")
    points = browser.execute_script("return window.explore.curves.step.length")
    browser.find_element("id", "play").click()
    wait_for(browser, "window.explore.frame.step >= 30 && window.explore.curves.step.length >= "
                      f"{points + 10}")
    assert browser.execute_script("return document.getElementById('scene').toDataURL()") != scene
    assert browser.execute_script(
        "return document.getElementById('loss-curve').toDataURL()") != losses
    grown = browser.execute_script(
        "return window.explore.curves.loss_d.filter(Number.isFinite).length")
    assert grown >= points + 10
    browser.find_element("id", "play").click()  # pause
    wait_for(browser, "window.explore.state.playing === false")
    # bad input from the page: a visible error, and the game goes on
    field = browser.find_element("id", "ctl-lr_g")
    field.clear()
    field.send_keys("fast\n")
    browser.execute_script("document.getElementById('ctl-lr_g').dispatchEvent(new Event('change'))")
    error = wait_for(browser, "!document.getElementById('error').hidden && "
                              "document.getElementById('error').textContent")
    assert "lr_g" in error
    step = browser.execute_script("return window.explore.frame.step")
    browser.find_element("id", "step-both").click()
    wait_for(browser, f"window.explore.frame.step === {step + 1}")
    # everything the page loaded came from the explorer itself
    hosts = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert hosts and set(hosts) == {server.split("/")[2]}
