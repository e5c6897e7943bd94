"""Reading connections: base URL, token, insecure http, extras, clear errors naming the conn id."""

from __future__ import annotations

import pytest
from _support import APIFY_TOKEN, conn_json

from airflow_provider_jobs._connection import (
    Secret,
    ServiceInfo,
    build_settings,
    is_loopback_host,
)
from airflow_provider_jobs.exceptions import JobsConfigError
from airflow_provider_jobs.hooks.apify import ApifyHook
from airflow_provider_jobs.hooks.template_builds import TemplateBuildHook

APIFY = ServiceInfo("Apify", "apify", "https://api.apify.com", "console")
TEMPLATES = ServiceInfo("Nullspace template builds", "template_builds", None, "key")


def settings(service: ServiceInfo = APIFY, host: str | None = None, port: int | None = None, **extra: object):  # type: ignore[no-untyped-def]
    return build_settings("my_conn", service, host=host, port=port, password="tok", extra=extra)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "https://api.apify.com"),
        ("", None, "https://api.apify.com"),
        ("http://127.0.0.1:8089", None, "http://127.0.0.1:8089"),
        ("http://127.0.0.1:8089/", None, "http://127.0.0.1:8089"),
        ("https://api.example.com/base/", None, "https://api.example.com/base"),
        ("api.example.com", None, "https://api.example.com"),
        ("api.example.com", 8443, "https://api.example.com:8443"),
        ("https://api.example.com:9000", 8443, "https://api.example.com:9000"),
        ("http://localhost:1234", None, "http://localhost:1234"),
        ("http://[::1]:1234", None, "http://[::1]:1234"),
    ],
)
def test_base_url_resolution(host: str | None, port: int | None, expected: str) -> None:
    assert settings(host=host, port=port).base_url == expected


def test_templates_need_a_host() -> None:
    with pytest.raises(JobsConfigError, match="'my_conn'.*no host"):
        settings(TEMPLATES)


@pytest.mark.parametrize("host", ["http://api.example.com", "http://10.0.0.5:8080", "http://169.254.1.1"])
def test_plain_http_refused_off_loopback(host: str) -> None:
    with pytest.raises(JobsConfigError, match="allow_insecure_http"):
        settings(host=host)


def test_plain_http_allowed_when_the_connection_says_so() -> None:
    assert settings(host="http://10.0.0.5:8080", allow_insecure_http=True).base_url == "http://10.0.0.5:8080"
    assert settings(host="http://10.0.0.5:8080", allow_insecure_http="true").base_url == "http://10.0.0.5:8080"
    with pytest.raises(JobsConfigError, match="allow_insecure_http"):
        settings(host="http://10.0.0.5:8080", allow_insecure_http="maybe")


@pytest.mark.parametrize("host", ["ftp://x", "https://user:pw@host", "https://h/?token=x", "https://h:notaport"])
def test_bad_hosts(host: str) -> None:
    with pytest.raises(JobsConfigError, match="my_conn"):
        settings(host=host)


def test_loopback_detection() -> None:
    assert all(is_loopback_host(h) for h in ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost", "a.localhost"])
    assert not any(is_loopback_host(h) for h in ["10.0.0.1", "example.com", "localhost.example.com", "0.0.0.0"])


@pytest.mark.parametrize("password", [None, "", "   "])
def test_missing_token_names_the_connection(password: str | None) -> None:
    with pytest.raises(JobsConfigError, match="'my_conn'.*no API token.*password"):
        build_settings("my_conn", APIFY, host=None, port=None, password=password, extra={})


def test_token_with_whitespace_is_refused_without_echo() -> None:
    with pytest.raises(JobsConfigError) as err:
        build_settings("c", APIFY, host=None, port=None, password="abc def", extra={})
    assert "abc def" not in str(err.value)


def test_timeouts_and_retries_from_extra() -> None:
    s = settings(connect_timeout=3, read_timeout="45", max_retries=7, retry_max_elapsed=30)
    assert (s.timeouts.connect, s.timeouts.read, s.max_retries, s.retry_max_elapsed) == (3.0, 45.0, 7, 30.0)
    d = settings()
    assert d.timeouts.connect > 0 and d.timeouts.read >= 10 and d.max_retries >= 3
    with pytest.raises(JobsConfigError, match="read_timeout"):
        settings(read_timeout="fast")
    with pytest.raises(JobsConfigError, match="max_retries"):
        settings(max_retries=-1)
    with pytest.raises(JobsConfigError, match="connect_timeout"):  # beyond float range: no OverflowError
        settings(connect_timeout=10**400)


def test_secret_never_shows() -> None:
    s = build_settings("c", APIFY, host=None, port=None, password=APIFY_TOKEN, extra={})
    assert APIFY_TOKEN not in repr(s) and APIFY_TOKEN not in str(s.token)
    assert s.token.value == APIFY_TOKEN
    assert Secret("a") == Secret("a") and hash(Secret("a")) == hash(Secret("a"))


def test_hook_missing_connection_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOPE", raising=False)
    with pytest.raises(JobsConfigError) as err:
        ApifyHook(apify_conn_id="nope").get_run("abc")
    assert "'nope' is not defined" in str(err.value)
    assert "AIRFLOW_CONN_NOPE" in str(err.value)


def test_hook_missing_token_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_NOTOKEN", conn_json("apify", None))
    with pytest.raises(JobsConfigError, match="'apify_notoken'.*no API token"):
        ApifyHook("apify_notoken").get_run("abc")
    monkeypatch.setenv("AIRFLOW_CONN_TB_NOHOST", conn_json("template_builds", "k", host=None))
    with pytest.raises(JobsConfigError, match="'tb_nohost'.*no host"):
        TemplateBuildHook("tb_nohost").get_build("tb_1")


def test_hook_uri_form_and_url_encoded_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_APIFY_URI", "apify://:tok%2Fx@api.example.com:443/?read_timeout=12")
    hook = ApifyHook("apify_uri")
    assert hook.settings.base_url == "https://api.example.com:443"
    assert hook.settings.token.value == "tok/x"
    assert hook.settings.timeouts.read == 12.0


def test_hook_rejects_empty_conn_id() -> None:
    with pytest.raises(JobsConfigError):
        ApifyHook(apify_conn_id="")
