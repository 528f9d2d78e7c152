"""The first search after ``lifeseeker serve`` starts, in headless Chromium: the server is started as a user starts
it (a subprocess of the real command, loading its own models from the settings), and as soon as it answers at all
(``/healthz``) the page's first search is answered within Playwright's ordinary timeouts, because the models and the
store snapshot were loaded, and one search run, before it listens (webui/warmup.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from ..conftest import REPO

pytestmark = pytest.mark.browser
START_LIMIT_S = 300  # the process start-up (imports, model load) until it answers /healthz: not the search


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


@pytest.fixture(scope="module")
def served(sample_store, tiny_clip_dir, tmp_path_factory):
    store, _ = sample_store
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESEEKER_")}
    env.update(LIFESEEKER_STORE=store.url, LIFESEEKER_CLIP_MODEL=f"local-dir:{tiny_clip_dir}",
               LIFESEEKER_RERANK="off", LIFESEEKER_CACHE=str(tmp_path_factory.mktemp("serve-cache")),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "lifeseeker.cli", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_LIMIT_S
    while _status(base + "/healthz") != 200:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"lifeseeker serve did not come up: {proc.communicate()[0][-2000:]}")
        time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def test_first_search_after_serve_starts_answers_within_the_ordinary_timeout(page: Page, served):
    # the very first request that searches, sent the moment the server answers at all; the results are in the
    # page's HTML (thumbnails load after it, on their own requests)
    assert _status(served + "/readyz") == 200  # serve listens only once warm
    page.goto(f"{served}/?q=walk+in+Arezzo", wait_until="domcontentloaded")  # Playwright's default 30 s
    expect(page.locator("ol.events > li.event").first).to_be_visible()  # and its default 5 s
