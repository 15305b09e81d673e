"""The signals console page in headless chromium: label a post (ingested, labelled by the stream, shown),
look up a corpus post, the registry with its SLO columns, a community's insights; no console error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feedmix.config import FeedmixConfig
from feedmix.serving.runtime import Runtime
from feedmix.signals.post_signal_table import PostSignalTable
from tests.console.conftest import Page, serve


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    rt = Runtime.build(FeedmixConfig(state_dir=str(tmp_path_factory.mktemp("state")), users=50))
    assert rt.corpus_signals is not None
    table = PostSignalTable.empty(len(rt.corpus))
    table.intent[:] = 0
    table.category[:] = 2
    table.safety[:] = 0
    table.sentiment[:] = 0
    rt.corpus_signals.table = table  # as if the corpus had been labelled
    try:
        served = serve(rt)
        yield next(served), rt
        next(served, None)
    finally:
        rt.close()


def test_the_signals_page_labels_looks_up_and_lists(browser: Any, site: tuple[str, Runtime]) -> None:
    url, rt = site
    page = Page(browser)
    page.page.goto(url + "/console/signals")
    page.page.locator("#registry-table tbody tr").nth(5).wait_for(timeout=10_000)
    assert "intent" in page.page.inner_text("#registry-table") and "1.0.0" in page.page.inner_text(
        "#registry-table"
    )
    page.page.click("#label-form button[type=submit]")
    page.page.locator("#signals-table tbody tr.signal-row").first.wait_for(timeout=15_000)
    labelled = page.page.inner_text("#signals-table")
    assert "comparison" in labelled and "Sennheiser" in labelled
    assert "labelled" in page.page.inner_text("#signals-summary")
    page.page.fill("#post-id", rt.corpus.id_str[0])
    page.page.click("#lookup-form button[type=submit]")
    page.page.wait_for_function(
        f"document.getElementById('signals-title').textContent.indexOf('{rt.corpus.id_str[0]}') >= 0",
        timeout=10_000,
    )
    looked_up = page.page.inner_text("#signals-table")
    assert "review" in looked_up and "positive" in looked_up and "undefined" not in looked_up
    page.page.click("#insights-form button[type=submit]")
    page.page.locator("#insights-table tbody tr").first.wait_for(timeout=10_000)
    assert "review" in page.page.inner_text("#insights-table")
    page.screenshot("console-signals")
    assert page.errors == []
