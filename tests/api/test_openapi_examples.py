"""What /openapi.json (and so /docs and /redoc) tells a developer holds: every route says what it does, every
example fits its schema, and every request example is accepted by its live route."""

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

ADMIN_KEY = "openapi-examples-admin-key"
JWT_SECRET = "openapi-examples-jwt-secret-of-32-bytes-or-more"
# Examples that are valid but need what a fresh service lacks fail as documented: a candidate is trained on at least
# 50 logged customers, and a challenger is a stored version other than the active one.
NEEDS_HISTORY = {
    ("post", "/api/v1/proposals"): (422, "invalid_dataset"),
    ("put", "/api/v1/challenger"): (404, "unknown_model_version"),
}


@pytest.fixture
def documented(client_for, fresh_dir, tmp_path):
    """A client whose model and database a test may change, and the schema it documents."""
    api = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        jwt_secret=JWT_SECRET,
    )
    return api, api.get("/openapi.json").json()


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _examples(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every example in the document with the schema it illustrates: a schema's own, or a media type's."""
    if isinstance(node, dict):
        if isinstance(node.get("examples"), list) and ("type" in node or "properties" in node or "anyOf" in node):
            schema = {key: value for key, value in node.items() if key != "examples"}
            yield from ((where, schema, example) for example in node["examples"])
        if isinstance(node.get("examples"), dict) and "schema" in node:
            yield from ((f"{where}/{name}", node["schema"], ex["value"]) for name, ex in node["examples"].items())
        for key, value in node.items():
            yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, f"{where}/{index}")


def test_every_operation_says_what_it_does(documented):
    _, schema = documented
    bare = [
        f"{method.upper()} {path}"
        for method, path, operation in _operations(schema)
        if not operation.get("summary") or not operation.get("description")
    ]
    assert bare == []


def test_every_example_fits_its_schema(documented):
    # FastAPI writes the document without nulls: an example's `"reason": null` went missing where it is required.
    _, schema = documented
    examples = list(_examples({"paths": schema["paths"], "components": schema["components"]}))
    assert len(examples) > 100
    misfits = []
    for where, part, example in examples:
        try:
            jsonschema.validate(example, {**part, "components": schema["components"]})
        except jsonschema.ValidationError as error:
            misfits.append(f"{where}: {error.message}")
    assert misfits == []


def _path_with_examples(path: str, operation: dict[str, Any]) -> str | None:
    """The path with each parameter's example; None when one has none (a stored object's id: a version, a run)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            examples = parameter["schema"].get("examples")
            if not examples:
                return None
            path = path.replace(f"{{{parameter['name']}}}", str(examples[0]))
    return path


def _request_examples(operation: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """The JSON bodies /docs offers to send: the media type's examples, else its schema's."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return []
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    body = media["schema"]
    body = components[body["$ref"].rsplit("/", 1)[1]] if "$ref" in body else body
    return list(body.get("examples", []))


def _repeats(path: str, method: str, schema: dict[str, Any]) -> bool:
    """The same route and examples under the default segmentation's path: the top-level route sent them already."""
    prefix = "/api/v1/segmentations/{segmentation}"
    top = schema["paths"].get(f"/api/v1{path.removeprefix(prefix)}", {}).get(method)
    components = schema["components"]["schemas"]
    ours = _request_examples(schema["paths"][path][method], components)
    return path.startswith(f"{prefix}/") and top is not None and _request_examples(top, components) == ours


def _signed_in_as_the_documented_user(api, schema: dict[str, Any]) -> dict[str, str]:
    """Create the user POST /api/v1/users documents, and sign in as them: personal keys and passwords are a user's."""
    [user] = _request_examples(schema["paths"]["/api/v1/users"]["post"], schema["components"]["schemas"])
    assert api.post("/api/v1/users", json=user, headers={"X-API-Key": ADMIN_KEY}).status_code == 201
    signed_in = api.post("/api/v1/auth/token", data={"username": user["email"], "password": user["password"]})
    assert signed_in.status_code == 200
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


def test_every_request_example_is_accepted_by_its_route(documented):
    api, schema = documented
    as_user = _signed_in_as_the_documented_user(api, schema)
    # A password change ends the user's earlier tokens: it goes last.
    operations = sorted(_operations(schema), key=lambda operation: operation[1] == "/api/v1/auth/password")
    sent, refused = 1, []
    for method, path, operation in operations:
        if (method, path) == ("post", "/api/v1/users") or _repeats(path, method, schema):
            continue
        url = _path_with_examples(path, operation)
        # The signed-in user's own routes (keys, password) show OAuth2 first; every other change is an admin's.
        headers = as_user if operation.get("security", [{}])[0] == {"OAuth2": []} else {"X-API-Key": ADMIN_KEY}
        for example in _request_examples(operation, schema["components"]["schemas"]) if url else []:
            response = api.request(method.upper(), url, json=example, headers=headers)
            sent += 1
            answer = (response.status_code, response.json().get("type") if response.status_code >= 300 else None)
            expected = NEEDS_HISTORY.get((method, path))
            if expected is not None and str(expected[0]) not in operation["responses"]:
                refused.append(f"{method.upper()} {url}: {expected[0]} is not documented")
            if answer != expected and response.status_code >= 300:
                refused.append(f"{method.upper()} {url}: {response.status_code} {response.text[:200]}")
    assert refused == []
    assert sent >= 13


def test_every_tag_is_described(documented):
    _, schema = documented
    described = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    used = {tag for _, _, operation in _operations(schema) for tag in operation.get("tags", [])}
    assert used - described == set()


def test_every_route_that_refuses_anonymous_callers_shows_its_credentials(client_for, fresh_dir, tmp_path):
    # Reads and predictions ask for a viewer once PUBLIC_READS is off: /docs must show them a lock, as the admin routes.
    api = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}",
        admin_api_keys=[ADMIN_KEY],
        public_reads=False,
        jwt_secret=JWT_SECRET,
    )
    schema = api.get("/openapi.json").json()
    refused, unshown = 0, []
    for method, path, operation in _operations(schema):
        url = path.replace("{segmentation}", "default")
        for parameter in operation.get("parameters", []):
            url = url.replace(f"{{{parameter['name']}}}", "1")
        response = api.request(method.upper(), url)
        if response.status_code == 401:
            refused += 1
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if not {"AdminKey", "OAuth2"} <= schemes:
                unshown.append(f"{method.upper()} {path}")
    assert unshown == []
    assert refused > 80


def _undescribed(node: Any, where: str, components: dict[str, Any], seen: set[str]) -> Iterator[str]:
    """Every property under `node` (following references once) that says nothing about itself."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            yield from _undescribed(components[name], name, components, seen)
        return
    for name, part in node.get("properties", {}).items():
        if "description" not in part:
            yield f"{where}.{name}"
        yield from _undescribed(part, f"{where}.{name}", components, seen)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        for part in node.get(key) if isinstance(node.get(key), list) else [node.get(key)]:
            yield from _undescribed(part, where, components, seen)


def test_every_request_field_and_parameter_is_described_and_every_json_body_has_an_example(documented):
    _, schema = documented
    components = schema["components"]["schemas"]
    undescribed, seen = [], {"Body_token_api_v1_auth_token_post"}  # FastAPI's OAuth2 form, RFC 6749's fields
    for method, path, operation in _operations(schema):
        where = f"{method.upper()} {path}"
        undescribed += [f"{where} {p['name']}" for p in operation.get("parameters", []) if not p.get("description")]
        for media in operation.get("requestBody", {}).get("content", {}).values():
            undescribed += _undescribed(media["schema"], where, components, seen)
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert _request_examples(operation, components), f"{where}: no example body"
    assert undescribed == []


def test_every_field_of_every_answer_is_described(documented):
    _, schema = documented
    components, undescribed, seen = schema["components"]["schemas"], [], set()
    for method, path, operation in _operations(schema):
        for response in operation["responses"].values():
            for media in response.get("content", {}).values():
                undescribed += _undescribed(media.get("schema", {}), f"{method.upper()} {path}", components, seen)
    assert undescribed == []
