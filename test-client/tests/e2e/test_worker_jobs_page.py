"""The jobs pages in a real browser (headless Chromium through Selenium): a submitted job shows
on the list, which updates itself without a reload; its detail page shows the request, the pods
with their exit codes, the reply, and the archived log as a presigned link that opens. A
screenshot of the detail page is saved with the test's output."""

from __future__ import annotations

import shutil
import struct
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import RecordingSimulator

pytestmark = pytest.mark.e2e

BUSYBOX = "busybox:latest"
PAGE_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("headless Chromium is not installed: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def simulator(endpoints: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingSimulator]:
    """An API server of this module's own, so that no other test's clean-up removes its Jobs."""
    sim = RecordingSimulator(tmp_path_factory.mktemp("jobs-page-sim"))
    sim.create_s3_secret(endpoints.namespace, endpoints.s3_credentials_secret, endpoints.s3_access_key_id,
                         endpoints.s3_secret_access_key)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def running_worker(worker: Any, simulator: RecordingSimulator) -> Any:
    return worker(CLOUD_WORKER_KUBE_SERVER=simulator.base)


def wait_until(browser: Any, condition: Any, what: str, timeout: float = PAGE_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # the element is not there yet, or went stale under a refresh
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"the page did not show {what} within {timeout:g}s; it shows:\n{browser.page_source}", pytrace=False)
        time.sleep(0.2)


def submit(rpc: Any, request: dict[str, Any]) -> str:
    """Publishes a request; returns its id."""
    return str(rpc.publish(request).correlation_id)


def fan_out(job_name: str, bucket: str, text: str) -> dict[str, Any]:
    """Two tasks one after the other: the first prints `text` and ends (its log is archived),
    the second runs on, so that the Job stays running."""
    script = f'if [ "$JOB_COMPLETION_INDEX" = 0 ]; then echo \'{text}\'; else sleep 120; fi'
    return {"image": BUSYBOX, "jobName": job_name, "inputBucket": bucket, "timeOut": 5, "tasks": ["{}", "{}"],
            "parallelism": 1, "command": ["sh", "-c", script]}


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_a_job_is_found_followed_to_its_detail_page_and_its_log_opened(
    browser: Any, running_worker: Any, bucket_factory: Any, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{running_worker.env['CLOUD_WORKER_HTTP_PORT']}"
    bucket = bucket_factory("browser")
    suffix = uuid.uuid4().hex[:6]
    text = f"hello from {suffix} <b>&amp;</b>"
    with running_worker.rpc() as rpc:
        first = submit(rpc, fan_out(f"e2e-browser-{suffix}", bucket, text))
        try:
            check_pages(browser, rpc, base, suffix, first, bucket, tmp_path)
        finally:
            rpc.publish({"cancel": f"e2e-browser-{suffix}"})
            rpc.publish({"cancel": f"e2e-browser-{suffix}-2"})


def check_pages(browser: Any, rpc: Any, base: str, suffix: str, first: str, bucket: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    text = f"hello from {suffix} <b>&amp;</b>"
    browser.get(f"{base}/?name={suffix}")
    browser.execute_script("window.loadedOnce = true")
    cell = wait_until(browser, lambda: browser.find_element(By.XPATH, f"//td[text()='{first}']"), f"request {first}")
    row = cell.find_element(By.XPATH, "..")
    assert f"e2e-browser-{suffix}" in row.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#jobs tr")) == 1

    # A second job shows up on the same page, filled in by the page's own refresh.
    second = submit(rpc, {"image": BUSYBOX, "jobName": f"e2e-browser-{suffix}-2", "inputBucket": bucket, "timeOut": 5,
                          "command": ["sh", "-c", "sleep 120"]})
    wait_until(browser, lambda: browser.find_element(By.XPATH, f"//td[text()='{second}']"), f"the second request {second}")
    assert browser.execute_script("return window.loadedOnce") is True, "the page reloaded instead of updating itself"
    browser.get(f"{base}/?state=failed&name={suffix}")
    wait_until(browser, lambda: browser.find_element(By.ID, "jobs"), "the jobs table")
    assert browser.find_elements(By.CSS_SELECTOR, "#jobs tr") == [], "the state filter let a running job through"

    # The first task's log is archived once its pod ends; the detail page links to it.
    browser.get(f"{base}/?name={suffix}")
    cell = wait_until(browser, lambda: browser.find_element(By.XPATH, f"//td[text()='{first}']"), f"request {first}")
    cell.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "a").click()
    wait_until(browser, lambda: "/jobs/e2e-browser-" in browser.current_url, "the detail page")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"e2e-browser-{suffix}"
    assert browser.find_element(By.CSS_SELECTOR, '[data-field="state"]').text == "running"
    assert first in browser.page_source
    assert "not yet: the Job runs" in browser.find_element(By.ID, "reply").text

    def finished_pod() -> Any:
        browser.refresh()
        rows = browser.find_elements(By.XPATH, "//a[@class='log']/../..")
        done = [r for r in rows if r.find_elements(By.TAG_NAME, "td")[2].text == "0"]
        return done[0] if done else None

    pod_row = wait_until(browser, finished_pod, "a pod that ended with exit code 0", timeout=60)
    cells = [td.text for td in pod_row.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "Succeeded" and cells[3] == "Completed", cells
    log_link = pod_row.find_element(By.CSS_SELECTOR, "a.log")
    assert log_link.text.startswith(f"logs/") and log_link.text.endswith(".log"), log_link.text
    href = log_link.get_attribute("href")
    assert "X-Amz-Signature=" in href and "X-Amz-Expires=3600" in href, href

    screenshot = tmp_path / "job-detail.png"
    assert browser.save_screenshot(str(screenshot))
    width, height = png_size(screenshot)
    assert (width, height) >= (1000, 600), (width, height)
    print(f"screenshot: {screenshot}")

    log_link.click()
    shown = wait_until(browser, lambda: browser.find_element(By.TAG_NAME, "body").text, "the archived log", timeout=60)
    assert text in shown, shown
    with urllib.request.urlopen(href, timeout=10) as response:
        assert text.encode() in response.read()
    # The signature covers the key: another key with the same signature is refused.
    forged = href.replace(".log?", "-other.log?")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 403
