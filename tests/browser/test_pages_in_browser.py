"""The web pages in a real browser (Chromium via playwright) against the real server.

Each test's page is watched by the ``page`` fixture: any request to another origin or any
Content-Security-Policy breach fails the test. Screenshots land in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re

import requests

from kg.web.ui import PAIRINGS_QUERY

CJK = re.compile(r"[\u4e00-\u9fff]")


def sparql_select(server, query: str) -> list[dict]:
    r = requests.get(server.url + "/sparql", params={"query": query},
                     headers={"Accept": "application/sparql-results+json"}, timeout=10)
    r.raise_for_status()
    return r.json()["results"]["bindings"]


def test_query_page_runs_an_example(page, server, watch, screenshots) -> None:
    examples = requests.get(server.url + "/queries.json", timeout=10).json()
    assert examples, "the server offers no example queries"
    page.goto(server.url + "/")
    page.wait_for_selector("#yasgui .yasqe .CodeMirror")
    buttons = page.locator("button.example")
    assert buttons.count() == len(examples)
    editor = page.locator("#yasgui .CodeMirror").first.inner_text()
    assert "PREFIX dk: <https://w3id.org/duikou/ontology#>" in editor  # pre-declared
    page.screenshot(path=str(screenshots / "query-page.png"), full_page=True)

    example = next((q for q in examples if q["name"] == "pairings-by-year"), examples[0])
    expected = sparql_select(server, example["query"])
    tabs_before = page.locator("#yasgui .tabsList .tab").count()
    page.locator(f'button.example[data-name="{example["name"]}"]').click()
    assert page.locator("#yasgui .tabsList .tab").count() == tabs_before + 1
    active = page.locator("#yasgui .tabPanel.active")
    page.wait_for_function(
        "() => document.querySelector('.tabPanel.active .yasr_results table tbody tr')")
    active.locator(".yasr_results table tbody tr").first.wait_for()
    rows = active.locator(".yasr_results table.dataTable tbody tr")
    assert rows.count() == len(expected)
    table_text = active.locator(".yasr_results table.dataTable").inner_text()
    first = expected[0]
    for binding in first.values():
        if binding["type"] == "literal":
            assert binding["value"] in table_text
    if any(CJK.search(b["value"]) for row in expected for b in row.values()):
        assert CJK.search(table_text), "Chinese text missing from the result table"
    assert example["title_zh"] in page.locator("#yasgui .tabsList .tab.active").inner_text()
    page.screenshot(path=str(screenshots / "query-results-table.png"), full_page=True)

    active.locator(".yasr .select_response").click()
    raw = active.locator(".yasr_results").inner_text()
    assert '"head"' in raw and '"bindings"' in raw
    page.screenshot(path=str(screenshots / "query-results-response.png"), full_page=True)
    assert any(u.startswith(server.url + "/sparql?") for u in watch.requests)


def test_division_page_and_following_a_link(page, server, screenshots) -> None:
    page.goto(server.url + "/id/division/522300")
    assert page.locator("h1").inner_text().startswith("黔西南布依族苗族自治州")
    assert "Qianxinan" in page.locator("h1").inner_text()
    assert page.locator("tr.figure .quote").first.inner_text().startswith("宁波市累计投入")
    assert page.locator(".inferred").count() > 0
    page.screenshot(path=str(screenshots / "division-page.png"), full_page=True)
    link = page.locator("table.outgoing a[href='/id/division/520000']").first
    link.click()
    page.wait_for_url(server.url + "/id/division/520000")
    assert page.locator("h1").inner_text().startswith("贵州省")
    wikidata = page.locator("a.external[href^='http://www.wikidata.org/entity/']")
    assert wikidata.count() == 1
    page.screenshot(path=str(screenshots / "province-page.png"), full_page=True)


def test_pairing_network_picture(page, server, screenshots) -> None:
    rows = sparql_select(server, PAIRINGS_QUERY)
    independent = sparql_select(server, """
        PREFIX dk: <https://w3id.org/duikou/ontology#>
        SELECT DISTINCT ?p ?a ?r WHERE { ?p a dk:Pairing ; dk:assistant ?a ; dk:recipient ?r }""")
    assert len(rows) == len(independent) > 0
    page.goto(server.url + "/network")
    page.wait_for_selector("svg#network[data-ready='true']")
    arrows = page.locator("svg#network a.pairing-link")
    assert arrows.count() == len(independent)
    assert {arrows.nth(i).get_attribute("data-pairing") for i in range(arrows.count())} == \
        {r["p"]["value"] for r in independent}
    assert page.locator("svg#network path.pairing.successor").count() == 1   # took over
    assert page.locator("svg#network path.pairing.ended").count() == 1       # handed over
    assert page.locator("svg#network .handover-link").count() == 1
    assert page.locator("svg#network .exit-mark").count() == 1
    assert "2019-04-24" in page.locator("svg#network .exit-date").first.text_content()
    assert page.locator("svg#network path.land").count() == 1
    labels = page.locator("svg#network .years").all_text_contents()
    assert sorted(labels) == ["2013–2016", "2016–", "2016–"]
    page.screenshot(path=str(screenshots / "network.png"), full_page=True)

    node = page.locator("svg#network a.node[data-iri$='/division/330200']")
    node.hover()
    tip = page.locator("#tooltip")
    tip.wait_for(state="visible")
    assert "宁波市" in tip.inner_text() and "Ningbo" in tip.inner_text()
    page.screenshot(path=str(screenshots / "network-hover.png"))
    node.click()
    page.wait_for_url(server.url + "/id/division/330200")
    assert page.locator("h1").inner_text().startswith("宁波市")


def test_ontology_anchor_and_dataset_pages(page, server, screenshots) -> None:
    page.goto(server.url + "/ontology#Pairing")
    term = page.locator("#Pairing")
    assert term.is_visible()
    assert "结对帮扶关系" in term.inner_text() and "Pairing" in term.inner_text()
    page.screenshot(path=str(screenshots / "ontology.png"))
    page.goto(server.url + "/void")
    assert page.locator("#graph-data").is_visible()
    page.screenshot(path=str(screenshots / "void.png"), full_page=True)
    page.goto(server.url + "/download/")
    assert page.locator("a[href='/download/duikou.nq.gz']").count() == 1
