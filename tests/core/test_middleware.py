"""The project's ASGI middleware, driven directly with small ASGI apps: the error shape, each request's report, and
the security and caching headers."""

import asyncio
import errno
import gzip
import json
import logging
import os
import re

import pytest
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY

from app.core import metrics
from app.core.middleware import (
    PERMISSIONS_POLICY,
    ErrorShapeMiddleware,
    RequestReportMiddleware,
    SecurityHeadersMiddleware,
    ServiceMiddleware,
)


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": "POST", "path": "/x", "root_path": "", "headers": headers or [], "state": {}}


def _run(middleware, scope: dict | None = None) -> list[dict]:
    """Call `middleware` once and return every message it sent."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(middleware(scope or _scope(), receive, send))
    return sent


def _answer(status: int, body: bytes, content_type: bytes = b"application/json", crash_after: bool = False):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
        if crash_after:
            raise RuntimeError("secret detail after the start")
        await send({"type": "http.response.body", "body": body})

    return app


async def _crash(scope, receive, send):
    raise RuntimeError("secret internal detail")


def _json_body(sent: list[dict]) -> dict:
    return json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def test_a_crash_before_the_answer_becomes_a_logged_500_in_the_error_shape(caplog):
    scope = _scope()
    scope["state"]["request_id"] = "req-1"
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        sent = _run(ErrorShapeMiddleware(_crash), scope)
    assert sent[0]["status"] == 500
    body = _json_body(sent)
    assert body["type"] == "internal_error" and "req-1" in body["message"]
    assert "secret" not in json.dumps(body)
    [record] = [r for r in caplog.records if r.name == "app.errors"]
    assert record.request_id == "req-1" and record.exc_info is not None


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_a_disk_refusing_a_write_is_a_503_naming_no_path_and_one_log_line_with_it(caplog, code):
    # A read-only model folder made activation a 500 with a traceback: it is the operator's storage to fix.
    async def refused(scope, receive, send):
        raise OSError(code, os.strerror(code), "/srv/models_artifacts/.lock")

    with caplog.at_level(logging.ERROR, logger="app.errors"):
        sent = _run(ErrorShapeMiddleware(refused))
    assert sent[0]["status"] == 503
    body = _json_body(sent)
    assert body["type"] == "storage_unavailable" and "cannot write its files" in body["message"]
    assert "/srv" not in json.dumps(body)
    [record] = [r for r in caplog.records if r.name == "app.errors"]
    assert "/srv/models_artifacts/.lock" in record.getMessage() and record.exc_info is None


@pytest.mark.parametrize("code", [errno.ENOENT, errno.EPERM])
def test_another_os_error_is_still_an_unexpected_500(code):
    # EPERM too: signalling another user's process, say, is a defect to see as one, not the storage.
    async def failing(scope, receive, send):
        raise OSError(code, os.strerror(code), "/srv/x")

    sent = _run(ErrorShapeMiddleware(failing))
    assert sent[0]["status"] == 500 and _json_body(sent)["type"] == "internal_error"


def test_a_crash_after_the_answer_started_is_logged_and_sends_no_second_start(caplog):
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        sent = _run(ErrorShapeMiddleware(_answer(200, b"{}", crash_after=True)))
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert sent[0]["status"] == 200
    assert any(r.name == "app.errors" for r in caplog.records)


def test_the_frameworks_plain_text_413_becomes_the_json_error_with_the_limit():
    scope = _scope()
    scope[MAX_BODY_SIZE_SCOPE_KEY] = 2048
    sent = _run(ErrorShapeMiddleware(_answer(413, b"Request Entity Too Large", b"text/plain; charset=utf-8")), scope)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413
    body = _json_body(sent)
    assert body["type"] == "body_too_large" and "2048 byte limit" in body["message"]


def test_a_json_413_from_the_app_and_other_answers_pass_untouched():
    for status in (413, 200):
        sent = _run(ErrorShapeMiddleware(_answer(status, b'{"own": true}')))
        assert sent[0]["status"] == status
        assert _json_body(sent) == {"own": True}


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [(b"trace-42.a:b_c", True), (b"bad id with spaces", False), (b"x" * 129, False), (None, False)],
)
def test_each_request_gets_an_id_echoed_on_the_answer(incoming, kept):
    scope = _scope([(b"x-request-id", incoming)] if incoming else [])
    seen = {}

    async def app(scope, receive, send):
        seen["id"] = scope["state"]["request_id"]
        await _answer(200, b"{}")(scope, receive, send)

    sent = _run(RequestReportMiddleware(app), scope)
    echoed = dict(sent[0]["headers"])[b"x-request-id"].decode()
    assert echoed == seen["id"]
    if kept:
        assert echoed == incoming.decode()
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_fresh_request_ids_differ():
    ids = {dict(_run(RequestReportMiddleware(_answer(200, b"{}")))[0]["headers"])[b"x-request-id"] for _ in range(50)}
    assert len(ids) == 50


def test_each_request_is_reported_once_with_its_status(monkeypatch):
    reports = []
    monkeypatch.setattr(metrics, "record_request", lambda *args: reports.append(args))
    _run(RequestReportMiddleware(_answer(201, b"{}")))
    with pytest.raises(RuntimeError):
        _run(RequestReportMiddleware(_crash))
    assert [(method, status) for method, _, status, _ in reports] == [("POST", 201), ("POST", 500)]
    assert all(seconds >= 0 for *_, seconds in reports)


def _answer_with(headers: list[tuple[bytes, bytes]]):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


def test_security_headers_mark_an_answer_without_caching_no_store():
    sent = _run(SecurityHeadersMiddleware(_answer_with([(b"content-type", b"application/json")])))
    assert sent[0]["status"] == 200
    headers = sent[0]["headers"]
    assert headers.count((b"cache-control", b"no-store")) == 1
    assert (b"permissions-policy", PERMISSIONS_POLICY.encode()) in headers
    assert (b"x-frame-options", b"DENY") in headers


def test_security_headers_keep_an_answer_s_own_caching():
    sent = _run(SecurityHeadersMiddleware(_answer_with([(b"cache-control", b"public, max-age=3600")])))
    assert sent[0]["status"] == 200
    caching = [value for key, value in sent[0]["headers"] if key == b"cache-control"]
    assert caching == [b"public, max-age=3600"]
    assert (b"permissions-policy", PERMISSIONS_POLICY.encode()) in sent[0]["headers"]


def test_one_service_layer_adds_vary_security_headers_and_the_id_in_one_start_message(monkeypatch):
    reports = []
    monkeypatch.setattr(metrics, "record_request", lambda *args: reports.append(args))
    app = _answer_with([(b"content-type", b"application/json")])
    sent = _run(ServiceMiddleware(app, gzip_min_bytes=10), _scope([(b"accept-encoding", b"identity")]))
    assert sent[0]["status"] == 200
    names = [name for name, _ in sent[0]["headers"]]
    assert names[:2] == [b"content-type", b"vary"]
    assert names[-2:] == [b"cache-control", b"x-request-id"]
    assert (b"x-frame-options", b"DENY") in sent[0]["headers"]
    assert [status for _, _, status, _ in reports] == [200]


def test_one_service_layer_compresses_for_a_client_that_accepts_gzip():
    body = b'{"customers": "' + b"x" * 5000 + b'"}'

    async def app(scope, receive, send):
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    sent = _run(ServiceMiddleware(app, gzip_min_bytes=100), _scope([(b"accept-encoding", b"gzip")]))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 200
    assert headers[b"content-encoding"] == b"gzip"
    assert gzip.decompress(b"".join(m.get("body", b"") for m in sent[1:])) == body
    assert headers[b"x-frame-options"] == b"DENY" and b"x-request-id" in headers


def test_one_service_layer_keeps_an_answer_s_own_policy():
    own = (b"content-security-policy", b"default-src 'none'")
    sent = _run(ServiceMiddleware(_answer_with([own])))
    policies = [value for key, value in sent[0]["headers"] if key == b"content-security-policy"]
    assert policies == [own[1]]
