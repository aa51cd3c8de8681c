"""Signing in: the OAuth2 password flow, bearer tokens (and the ones refused), personal keys, sessions."""

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.accounts import JWT_SECRET, PASSWORD, add_user, bearer, sign_in

SERVICE_KEY = "service-admin-key-1"


@pytest.fixture
def accounts(client_for, fresh_dir, tmp_path):
    """A client on a fresh database with token login on and one ADMIN_API_KEYS key."""
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        jwt_secret=JWT_SECRET,
        admin_api_keys=[SERVICE_KEY],
    )
    for email, role in [("ada@example.com", "admin"), ("ann@example.com", "analyst"), ("vic@example.com", "viewer")]:
        add_user(client.app, email, role)
    return client


def test_token_login_issues_a_bearer_token_with_the_role_scopes(accounts):
    response = accounts.post("/api/v1/auth/token", data={"username": "ann@example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["scope"] == "read score"
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"], audience="customer-segmentation-api")
    assert claims["email"] == "ann@example.com" and claims["exp"] - claims["iat"] == body["expires_in"]


def test_an_admin_token_trains_and_an_analyst_token_is_refused(accounts):
    admin = bearer(accounts, "ada@example.com")
    analyst = bearer(accounts, "ann@example.com")
    assert accounts.get("/api/v1/jobs", headers=admin).status_code == 200
    refused = accounts.get("/api/v1/jobs", headers=analyst)
    assert refused.status_code == 403 and "admin" in refused.json()["message"]


def test_wrong_user_and_wrong_password_get_the_same_answer(accounts):
    wrong_password = accounts.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": "nope" * 3})
    wrong_user = accounts.post("/api/v1/auth/token", data={"username": "who@example.com", "password": PASSWORD})
    assert wrong_password.status_code == wrong_user.status_code == 401
    assert wrong_password.json()["message"] == wrong_user.json()["message"]
    assert wrong_password.json()["type"] == wrong_user.json()["type"] == "login_failed"


def test_wrong_user_and_wrong_password_run_the_same_argon2_verify(accounts, monkeypatch):
    from app.core import credentials

    hasher = credentials.password_hasher()
    calls = []
    real_verify = type(hasher).verify

    def spy(self, password, stored):
        calls.append(stored)
        return real_verify(self, password, stored)

    monkeypatch.setattr(type(hasher), "verify", spy)
    accounts.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": "wrong password!"})
    accounts.post("/api/v1/auth/token", data={"username": "nobody@example.com", "password": "wrong password!"})
    assert len(calls) == 2
    assert all(stored.startswith("$argon2id$") for stored in calls)


def test_token_login_says_it_is_off_without_a_jwt_secret(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}")
    add_user(client.app, "ada@example.com", "admin")
    response = client.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 503
    assert response.json()["type"] == "token_login_off" and "JWT_SECRET" in response.json()["message"]
    # Sessions still work.
    sign_in(client, "ada@example.com")
    assert client.get("/api/v1/auth/keys").status_code == 200


def _token(claims: dict, key: str = JWT_SECRET, algorithm: str = "HS256") -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


def _claims(**changes) -> dict:
    now = datetime.now(UTC)
    return {
        "iss": "customer-segmentation",
        "aud": "customer-segmentation-api",
        "ver": 0,
        "sub": "1",
        "email": "ada@example.com",
        "scope": "read score admin",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | changes


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda: _token(_claims(exp=datetime.now(UTC) - timedelta(seconds=5))), id="expired"),
        pytest.param(lambda: _token(_claims(), key="another-secret-of-at-least-32-bytes!"), id="wrong-key"),
        # The right key, another algorithm (pyjwt warns that the key is short for HS512: beside the point here).
        pytest.param(
            lambda: _token(_claims(), algorithm="HS512"),
            id="wrong-algorithm",
            marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
        ),
        pytest.param(lambda: {"Authorization": "Bearer " + jwt.encode(_claims(), None, algorithm="none")}, id="none"),
        pytest.param(lambda: _token(_claims(iss="another-service")), id="wrong-issuer"),
        pytest.param(lambda: _token(_claims(aud="another-api")), id="wrong-audience"),
        pytest.param(lambda: _token({k: v for k, v in _claims().items() if k != "iss"}), id="no-issuer"),
        pytest.param(lambda: _token({k: v for k, v in _claims().items() if k != "aud"}), id="no-audience"),
        pytest.param(lambda: _token({k: v for k, v in _claims().items() if k != "ver"}), id="no-version"),
        pytest.param(lambda: _token(_claims(ver=1)), id="another-version"),
        pytest.param(
            lambda: {"Authorization": _token(_claims())["Authorization"][:-3] + "AAA"}, id="tampered-signature"
        ),
    ],
)
def test_bad_tokens_are_401(accounts, headers):
    good = accounts.get("/api/v1/jobs", headers=_token(_claims()))
    assert good.status_code == 200  # the same claims, signed right, pass: what fails below is the token itself
    response = accounts.get("/api/v1/jobs", headers=headers())
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_required"


def test_a_token_with_its_payload_changed_is_401(accounts):
    import base64
    import json

    header, payload, signature = bearer(accounts, "vic@example.com")["Authorization"][7:].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "read score admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = accounts.get("/api/v1/jobs", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"})
    assert response.status_code == 401


def test_personal_key_is_shown_once_and_works_until_revoked(accounts):
    admin = bearer(accounts, "ada@example.com")
    created = accounts.post("/api/v1/auth/keys", json={"name": "nightly", "role": "admin"}, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    listed = accounts.get("/api/v1/auth/keys", headers=admin).json()["keys"]
    assert [k["name"] for k in listed] == ["nightly"] and all("key" not in k for k in listed)
    assert key not in accounts.get("/api/v1/auth/keys", headers=admin).text
    assert accounts.get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200
    assert accounts.get("/api/v1/auth/keys", headers=admin).json()["keys"][0]["last_used_at"] is not None
    assert accounts.delete(f"/api/v1/auth/keys/{created.json()['id']}", headers=admin).status_code == 204
    revoked = accounts.get("/api/v1/jobs", headers={"X-API-Key": key})
    assert revoked.status_code == 401


def test_an_anonymous_caller_of_a_users_route_is_told_any_role_will_do(accounts):
    response = accounts.get("/api/v1/auth/keys")
    assert response.status_code == 401
    assert response.json()["message"].startswith("this needs a signed-in user or an API key, whatever its role:")


def test_a_key_cannot_have_a_role_above_its_creator(accounts):
    analyst = bearer(accounts, "ann@example.com")
    response = accounts.post("/api/v1/auth/keys", json={"name": "too much", "role": "admin"}, headers=analyst)
    assert response.status_code == 403
    ok = accounts.post("/api/v1/auth/keys", json={"name": "mine", "role": "viewer"}, headers=analyst)
    assert ok.status_code == 201 and ok.json()["role"] == "viewer"


@pytest.mark.parametrize("name", ["svc\nINJECTED line", "svc\r\nx", "svc\tx", "svc\x00", "svc\u2028x", "s\u200bvc"])
def test_a_key_name_with_a_line_break_control_or_invisible_character_is_a_422(accounts, name):
    analyst = bearer(accounts, "ann@example.com")
    response = accounts.post("/api/v1/auth/keys", json={"name": name, "role": "analyst"}, headers=analyst)
    assert response.status_code == 422
    assert "must be one line of visible text" in response.json()["message"]
    assert accounts.get("/api/v1/auth/keys", headers=analyst).json()["keys"] == []


def test_a_key_name_of_only_spaces_is_a_422_and_a_name_is_kept_trimmed(accounts):
    analyst = bearer(accounts, "ann@example.com")
    blank = accounts.post("/api/v1/auth/keys", json={"name": "   ", "role": "viewer"}, headers=analyst)
    assert blank.status_code == 422 and "not only spaces" in blank.json()["message"]
    kept = accounts.post("/api/v1/auth/keys", json={"name": "  nightly export ", "role": "viewer"}, headers=analyst)
    assert kept.status_code == 201 and kept.json()["name"] == "nightly export"
    listed = accounts.get("/api/v1/auth/keys", headers=analyst).json()["keys"]
    assert [key["name"] for key in listed] == ["nightly export"]


def test_admin_api_keys_still_work_as_admin_service_keys(accounts):
    assert accounts.get("/api/v1/jobs", headers={"X-API-Key": SERVICE_KEY}).status_code == 200


def test_disabled_user_loses_session_token_and_keys_at_once(accounts):
    admin = bearer(accounts, "ada@example.com")
    viewer_token = bearer(accounts, "vic@example.com")
    key = accounts.post("/api/v1/auth/keys", json={"name": "k"}, headers=viewer_token).json()["key"]
    users = accounts.get("/api/v1/users", headers=admin).json()["users"]
    vic = next(u for u in users if u["email"] == "vic@example.com")
    sign_in(accounts, "vic@example.com")
    assert accounts.get("/api/v1/auth/keys").status_code == 200  # the session works
    changed = accounts.patch(f"/api/v1/users/{vic['id']}", json={"disabled": True}, headers=admin)
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    assert accounts.get("/api/v1/auth/keys").status_code == 401  # the session ended
    assert accounts.get("/api/v1/auth/keys", headers=viewer_token).status_code == 401
    assert accounts.get("/api/v1/auth/keys", headers={"X-API-Key": key}).status_code == 401


def test_password_hash_is_never_returned_nor_logged(accounts, caplog):
    caplog.set_level(logging.DEBUG)
    admin = bearer(accounts, "ada@example.com")
    created = accounts.post(
        "/api/v1/users",
        json={"email": "new@example.com", "password": "a long password", "role": "viewer"},
        headers=admin,
    )
    assert created.status_code == 201
    listed = accounts.get("/api/v1/users", headers=admin)
    with accounts.app.state.db_sessions() as session:
        from app.db.tables import User

        hashes = [user.password_hash for user in session.query(User)]
    for text in (created.text, listed.text, caplog.text):
        assert "argon2" not in text and not any(h in text for h in hashes)
        assert "a long password" not in text and PASSWORD not in text


def test_login_is_throttled_per_account(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
        jwt_secret=JWT_SECRET,
        rate_limit_login="3/minute",
    )
    add_user(client.app, "ada@example.com", "admin")
    statuses = [
        client.post(
            "/api/v1/auth/token", data={"username": "ada@example.com", "password": "wrong password!"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    # Spent: even the right password is refused now, with the same 429.
    right = client.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert right.status_code == 429


def test_login_is_throttled_per_client_address(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
        jwt_secret=JWT_SECRET,
        rate_limit_login="3/minute",
    )
    add_user(client.app, "ada@example.com", "admin")
    # Three accounts guessed from one address spend the address's allowance, not any one account's.
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        response = client.post("/api/v1/auth/token", data={"username": email, "password": "wrong password!"})
        assert response.status_code == 401
    blocked = client.post("/api/v1/auth/token", data={"username": "ada@example.com", "password": PASSWORD})
    assert blocked.status_code == 429


def test_rs256_tokens_are_signed_with_the_private_key_and_checked_with_the_public_one(client_for, fresh_dir, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_file, public_file = tmp_path / "jwt.pem", tmp_path / "jwt.pub"
    private_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_file.write_bytes(public_pem)
    client = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
        jwt_algorithm="RS256",
        jwt_private_key_file=private_file,
        jwt_public_key_file=public_file,
    )
    add_user(client.app, "ada@example.com", "admin")
    headers = bearer(client, "ada@example.com")
    token = headers["Authorization"][7:]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert (
        jwt.decode(token, public_pem, algorithms=["RS256"], audience="customer-segmentation-api")["email"]
        == "ada@example.com"
    )
    assert client.get("/api/v1/jobs", headers=headers).status_code == 200
    # The public key used as an HMAC secret (the classic algorithm confusion) is refused. Built by hand: pyjwt
    # itself refuses to sign HS256 with a PEM key.
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {key: int(v.timestamp()) if isinstance(v, datetime) else v for key, v in _claims().items()}
    payload = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    forged = f"{header}.{payload}.{signature}"
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_swagger_authorize_uses_the_password_flow(accounts):
    schema = accounts.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["OAuth2"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert set(scheme["flows"]["password"]["scopes"]) == {"read", "score", "admin"}


CUSTOMER = {"annual_income": 50, "spending_score": 50}
CSV = "annual_income,spending_score\n50,50\n90,20\n"


def _public_calls(client, headers: dict[str, str]) -> dict[str, int]:
    """The status of each public route (PUBLIC_READS on) called with `headers`."""
    return {
        "predict": client.post("/api/v1/predict", json=CUSTOMER, headers=headers).status_code,
        "predict/csv": client.post(
            "/api/v1/predict/csv", content=CSV, headers=headers | {"Content-Type": "text/csv"}
        ).status_code,
        "report": client.get("/api/v1/models/active/report?format=html", headers=headers).status_code,
        "clusters": client.get("/api/v1/clusters", headers=headers).status_code,
    }


def test_an_invalid_credential_is_a_401_on_public_routes_and_none_stays_anonymous(accounts):
    admin = {"X-API-Key": SERVICE_KEY}
    key = accounts.post("/api/v1/auth/keys", json={"name": "k"}, headers=bearer(accounts, "vic@example.com"))
    token = bearer(accounts, "vic@example.com")
    good = {"X-API-Key": key.json()["key"]}
    assert set(_public_calls(accounts, {}).values()) == {200}
    assert set(_public_calls(accounts, good).values()) == {200}
    vic = next(u for u in accounts.get("/api/v1/users", headers=admin).json()["users"] if u["role"] == "viewer")
    assert accounts.patch(f"/api/v1/users/{vic['id']}", json={"disabled": True}, headers=admin).status_code == 200
    for headers in (good, token, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "csk_unknown"}):
        assert set(_public_calls(accounts, headers).values()) == {401}, headers
    assert set(_public_calls(accounts, {}).values()) == {200}


@pytest.mark.parametrize(
    "change",
    [
        [{"disabled": True}, {"disabled": False}],
        [{"role": "analyst"}],
        "password",
    ],
    ids=["disabled-and-enabled-again", "role-changed", "password-set"],
)
def test_a_token_issued_before_a_change_of_its_user_stays_refused(accounts, change):
    admin = {"X-API-Key": SERVICE_KEY}
    before = bearer(accounts, "vic@example.com")
    vic = next(u for u in accounts.get("/api/v1/users", headers=admin).json()["users"] if u["role"] == "viewer")
    assert accounts.get("/api/v1/auth/keys", headers=before).status_code == 200
    if change == "password":
        body = {"password": "a brand new passphrase"}
        assert accounts.put(f"/api/v1/users/{vic['id']}/password", json=body, headers=admin).status_code == 204
    for patch in change if change != "password" else []:
        assert accounts.patch(f"/api/v1/users/{vic['id']}", json=patch, headers=admin).status_code == 200
    refused = accounts.get("/api/v1/auth/keys", headers=before)
    assert refused.status_code == 401 and "since it was issued" in refused.json()["message"]
    password = "a brand new passphrase" if change == "password" else PASSWORD
    assert accounts.get("/api/v1/auth/keys", headers=bearer(accounts, "vic@example.com", password)).status_code == 200


def test_a_token_carries_issuer_audience_and_version(accounts):
    token = bearer(accounts, "vic@example.com")["Authorization"][7:]
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="customer-segmentation-api")
    assert claims["iss"] == "customer-segmentation" and claims["ver"] == 0
