"""``/openapi.json`` describes the real HTTP API, checked by schemathesis against the real
server: every documented operation is called with generated and edge-case inputs (its
examples, boundary values, fuzzed values, wrong methods) and must give no 5xx, only
documented status codes, documented media types, JSON bodies that match their schemas
and ``405`` with ``Allow`` for methods it does not take.

``positive_data_acceptance`` is left out on purpose: a SPARQL endpoint takes any string as
``query`` by the schema's word but rightly answers ``400`` to one that is not SPARQL.
Bounded: ``KG_SCHEMATHESIS_EXAMPLES`` (default 15) cases per operation and phase, a fixed
seed (``KG_SCHEMATHESIS_SEED``) so that CI is repeatable; ``bench/fuzz.py`` runs it longer
with random seeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kg.config import Settings
from kg.web import create_app

from .conftest import Server, start_server

ST = Path(sys.executable).with_name("st")
EXAMPLES = os.environ.get("KG_SCHEMATHESIS_EXAMPLES", "15")
SEED = os.environ.get("KG_SCHEMATHESIS_SEED", "20240601")
UNDOCUMENTED = {"/static/<path:filename>", "/assets/<path:filename>", "/sparql/", "/download"}
"""Routes left out of the description: static files, and the aliases that redirect or
repeat a documented path."""


@pytest.fixture(scope="module")
def api_server(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Server]:
    srv = start_server(fixture_store, tmp_path_factory.mktemp("openapi-logs"), "--workers", "2",
                       env={"KG_QUERY_TIMEOUT": "5", "KG_MAX_ROWS": "200",
                            "KG_MAX_BODY": "65536"})
    yield srv
    srv.stop()


def test_document_is_served_and_covers_every_route(api_server: Server,
                                                   fixture_store: Path) -> None:
    r = requests.get(api_server.url + "/openapi.json", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    app = create_app(Settings(store=fixture_store))
    for rule in app.url_map.iter_rules():
        if rule.rule in UNDOCUMENTED:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in documented, f"{rule.rule} is not in /openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], f"{method} {rule.rule}"
    sparql_post = spec["paths"]["/sparql"]["post"]["requestBody"]["content"]
    assert {"application/x-www-form-urlencoded", "application/sparql-query",
            "application/sparql-update"} <= set(sparql_post)
    ok = spec["paths"]["/sparql"]["get"]["responses"]["200"]["content"]
    assert {"application/sparql-results+json", "text/csv", "text/turtle",
            "application/ld+json"} <= set(ok)


@pytest.mark.skipif(not ST.exists(), reason="schemathesis is not installed (pip install .[test])")
def test_schemathesis_against_the_real_server(api_server: Server, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ST), "run", api_server.url + "/openapi.json", "--checks", "all",
         "--exclude-checks", "positive_data_acceptance", "--max-examples", EXAMPLES,
         "--suppress-health-check", "filter_too_much",
         "--seed", SEED, "--request-timeout", "20", "--workers", "2",
         "--output-truncate", "true", "--no-color"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1"})
    out = result.stdout + result.stderr
    summary = re.search(r"(\d+) generated, (\d+) (?:passed|found)", out)
    print(summary.group(0) if summary else out[-2000:])
    first_section = out.find("=====")  # FAILURES / ERRORS, then warnings and summary
    assert result.returncode == 0, out[first_section:][:8000]
    assert summary and int(summary.group(1)) >= 100, out[-2000:]
    assert " failed: " not in api_server.log(), "a 500 was logged"
