"""The cookies' names: `__Host-` over HTTPS and plain over HTTP, read under that name only, deleted as they were set."""

from starlette.requests import Request
from starlette.responses import Response

from app.core import cookies


def request(scheme: str, cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "scheme": scheme, "headers": headers, "path": "/", "query_string": b""})


def test_cookie_name_has_the_host_prefix_over_https_only():
    assert cookies.cookie_name(request("https"), cookies.SESSION) == "__Host-session"
    assert cookies.cookie_name(request("http"), cookies.SESSION) == "session"


def test_read_cookie_reads_only_this_schemes_name():
    both = "session=tossed; __Host-session=own"
    assert cookies.read_cookie(request("https", both), cookies.SESSION) == "own"
    assert cookies.read_cookie(request("http", both), cookies.SESSION) == "tossed"
    assert cookies.read_cookie(request("https", "session=tossed"), cookies.SESSION) is None
    assert cookies.read_cookie(request("http", "session="), cookies.SESSION) is None


def test_set_cookie_over_https_is_secure_at_the_root_and_over_http_keeps_its_path():
    secure, plain = Response(), Response()
    cookies.set_cookie(secure, request("https"), cookies.SCORE_FORM, "t", path="/score", max_age=60)
    cookies.set_cookie(plain, request("http"), cookies.SCORE_FORM, "t", path="/score")
    assert secure.headers["set-cookie"] == "__Host-score_form=t; HttpOnly; Max-Age=60; Path=/; SameSite=lax; Secure"
    assert plain.headers["set-cookie"] == "score_form=t; HttpOnly; Path=/score; SameSite=lax"


def test_delete_cookie_over_https_deletes_the_host_cookie_as_a_browser_accepts_it():
    response = Response()
    cookies.delete_cookie(response, request("https"), cookies.SESSION, path="/")
    deleted = response.headers["set-cookie"]
    assert deleted.startswith('__Host-session=""') and "Max-Age=0" in deleted
    assert "Path=/;" in deleted and deleted.endswith("Secure") and "Domain" not in deleted
