"""Run the real ``roc-validator`` (Provenance Run Crate 0.5 profile) on a crate, offline.

The validator expands the crate's JSON-LD, so it needs the RO-Crate 1.1 ``@context``
document, which it fetches from w3id.org and caches (requests-cache). The test machines have
no network, so the cache is seeded with the context built from the one ``rocrate`` ships
(RO-Crate 1.3, the same schema.org term IRIs) with the four terms whose IRIs 1.1 defines
differently put back to their 1.1 values (ComputationalWorkflow, FormalParameter, input,
output: bioschemas' 2020 IRIs). Online, ``rocrate-validator validate -p
provenance-run-crate-0.5 results/<id>`` needs none of this.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

CONTEXT_11 = "https://w3id.org/ro/crate/1.1/context"
TERMS_11 = {"ComputationalWorkflow": "https://bioschemas.org/ComputationalWorkflow",
            "FormalParameter": "https://bioschemas.org/FormalParameter",
            "input": "https://bioschemas.org/ComputationalWorkflow#input",
            "output": "https://bioschemas.org/ComputationalWorkflow#output"}


def seed_cache(cache: Path) -> Path:
    """A requests-cache SQLite file holding the RO-Crate 1.1 context document."""
    import requests
    import requests_cache
    import rocrate
    import urllib3

    doc = json.loads((Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld").read_text())
    doc["@id"] = CONTEXT_11
    doc["@context"].update(TERMS_11)
    body = json.dumps(doc).encode()
    session = requests_cache.CachedSession(cache_name=str(cache), backend="sqlite",
                                           expire_after=-1)
    raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=200, preload_content=False,
                               headers={"Content-Type": "application/ld+json"},
                               request_url=CONTEXT_11)
    response = requests.Response()
    response.status_code, response._content, response.url, response.raw = \
        200, body, CONTEXT_11, raw
    response.headers = requests.structures.CaseInsensitiveDict(
        {"Content-Type": "application/ld+json"})
    response.encoding = "utf-8"
    response.request = requests.Request("GET", CONTEXT_11).prepare()
    session.cache.save_response(response)
    return cache


def validate(crate_dir: Path, tmp: Path) -> dict:
    """The validator's JSON report (``passed``, ``issues``) for the crate in ``crate_dir``."""
    tmp.mkdir(parents=True, exist_ok=True)
    cache = seed_cache(tmp / "validator-cache")
    exe = Path(sys.executable).parent / "rocrate-validator"
    proc = subprocess.run([str(exe), "validate", "-p", "provenance-run-crate-0.5", "--offline",
                           "--cache-path", str(cache), "--no-paging", "-f", "json",
                           "-o", str(tmp / "report.json"), str(crate_dir)],
                          capture_output=True, text=True, timeout=300)
    report = tmp / "report.json"
    assert report.is_file(), proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(report.read_text())


def must_issues(report: dict) -> list[str]:
    return [f"{i.get('check', {}).get('name')}: {i.get('message')} ({i.get('violatingEntity')})"
            for i in report.get("issues", []) if i.get("severity") == "REQUIRED"]
