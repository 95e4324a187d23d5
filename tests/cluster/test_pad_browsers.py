"""Two people in real browsers (Debian's Chromium, the pad page's own y-websocket provider) on one pad through the
cluster's front, while the pad's home is killed with -9: their providers reconnect, the pad comes back on another
node from PostgreSQL, and what each typed before, during and after reaches the other.

A sync test with its own Playwright: a package-wide browser would keep an event loop running in this thread
and stop the async cluster tests collected after it."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, sync_playwright

from padbox_dev.local_cluster import LocalCluster
from tests.cluster.test_pads import restart
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LAPTOP, screenshot_path, watch_for_trouble
from tests.e2e.test_pads import Person, open_as
from tests.pads_client import http

TOKEN = "pads"
RECONNECT_MS = 30_000


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_two_browsers_keep_every_edit_while_the_pads_home_is_killed(
    cluster: LocalCluster, request: pytest.FixtureRequest
) -> None:
    status, pad = http("POST", f"{cluster.layout.front_url}/api/v1/pads", {}, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201, pad
    link = f"{cluster.layout.front_url}/p/{pad['id']}?token={TOKEN}#key={pad['keys']['edit']}"
    with chromium() as browser:
        contexts = [browser.new_context(viewport=LAPTOP) for _ in range(2)]
        errors: list[str] = []
        ada, bob = (Person(context.new_page(), name) for context, name in zip(contexts, ("Ada", "Bob"), strict=True))
        for person in (ada, bob):
            watch_for_trouble(person.page, errors)  # a page that threw, or a CSP violation
        try:
            open_as(ada, link)
            open_as(bob, link)
            ada.type_at_end("\n# before")
            bob.wait_for_code("# before")

            home = cluster.pad_home(pad["id"])
            assert home in cluster.layout.node_ids(), home
            killed = time.monotonic()
            cluster.stop_node(home, signal.SIGKILL)
            request.addfinalizer(lambda: restart(cluster, home))  # the cluster whole again, whatever happens
            ada.type_at_end("\n# during")  # typed while her provider reconnects: kept in her document meanwhile
            bob.wait_for_code("# during", RECONNECT_MS)
            took = time.monotonic() - killed
            print(f"an edit typed after kill -9 of the home reached the other browser {took:.1f} s after the kill")
            bob.type_at_end("\n# after")
            ada.wait_for_code("# after", RECONNECT_MS)
            assert ada.code() == bob.code()
            assert all(mark in ada.code() for mark in ("# before", "# during", "# after"))
            assert not errors, f"a page threw: {errors}"
        finally:
            for person, name in ((ada, "ada"), (bob, "bob")):
                person.page.screenshot(path=screenshot_path(request, name))
            for context in contexts:
                context.close()
