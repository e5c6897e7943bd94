"""Validate captured requests against the API references vendored in ``tests/fixtures/reference/``.

* Apify: the OpenAPI subset, through openapi-core (path, method, query parameter names and
  types, required parameters, body, security).
* Template builds: ``contract.json`` (method, path template, allowed query keys, body shape).

Where each file comes from (upstream, commit, licence) is in ``tests/fixtures/reference/README.md``.
A missing reference file fails the test that needs it: a clone of the repository must run its
whole suite, so nothing here skips.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "reference"
APIFY_SPEC = REFERENCE / "apify" / "openapi-subset.yaml"
TEMPLATE_CONTRACT = REFERENCE / "template-builds" / "contract.json"


def reference_file(path: Path) -> Path:
    """Return ``path`` if it exists; otherwise fail the calling test (never skip it).

    :param path: a file under :data:`REFERENCE`.
    """
    if not path.is_file():
        pytest.fail(
            f"vendored reference file {path} is missing: restore it from git "
            "(see tests/fixtures/reference/README.md)",
            pytrace=False,
        )
    return path


@functools.lru_cache(maxsize=1)
def apify_openapi() -> Any:
    import yaml
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(yaml.safe_load(reference_file(APIFY_SPEC).read_text()))


@functools.lru_cache(maxsize=1)
def template_contract() -> dict[str, Any]:
    return json.loads(reference_file(TEMPLATE_CONTRACT).read_text())


@dataclass
class OpenAPIRequest:
    """httpx.Request seen through openapi-core's Request protocol, on the spec's server."""

    request: httpx.Request
    parameters: Any = field(init=False)

    def __post_init__(self) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(self.request.url.params.multi_items())),
            header=Headers(list(self.request.headers.items())),
        )

    host_url = "https://api.apify.com"  # the spec's server; the test host stands in for it

    @property
    def path(self) -> str:
        # The deprecated /v2/acts/ alias is served by the same handlers as /v2/actors/.
        return self.request.url.path.replace("/v2/acts/", "/v2/actors/", 1)

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "")


def validate_apify_request(request: httpx.Request) -> None:
    """Raise if ``request`` does not match an operation of the Apify OpenAPI subset."""
    apify_openapi().validate_request(OpenAPIRequest(request))
    # Parameters the spec does not declare are not an error for openapi-core; they are for us.
    spec = apify_openapi().spec
    declared = set()
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, request.url.path) and request.method.lower() in item:
            op = item[request.method.lower()]
            for p in list(item.get("parameters", [])) + list(op.get("parameters", [])):
                declared.add(p["name"])
    undeclared = set(request.url.params.keys()) - declared
    assert not undeclared, f"query parameters not in the spec: {undeclared}"
    assert "token" not in request.url.params, "the token must never travel in the URL"


def template_endpoint(request: httpx.Request) -> dict[str, Any]:
    """Return the contract endpoint ``request`` matches, checking method, path, query keys and body."""
    for ep in template_contract()["endpoints"]:
        if ep.get("method") != request.method:
            continue
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", ep["path"]) + "$"
        if not re.match(pattern, request.url.path):
            continue
        allowed = set((ep.get("query") or {}).keys())
        extra = set(request.url.params.keys()) - allowed
        if ep["id"] == "list_templates":
            extra -= {"limit"}  # harmless for a server that ignores it; see the hook's docstring
        assert not extra, f"{ep['id']}: query parameters not in the contract: {extra}"
        if ep.get("body"):
            body = json.loads(request.content or b"null")
            assert isinstance(body, dict), f"{ep['id']}: body must be a JSON object"
            assert request.headers.get("content-type") == "application/json"
        else:
            assert not request.content, f"{ep['id']}: no body expected"
        auth = request.headers.get("authorization", "")
        assert auth.startswith("Bearer ") and len(auth) > 7
        return ep
    raise AssertionError(f"{request.method} {request.url.path} matches no endpoint of the contract")
