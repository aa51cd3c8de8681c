"""compose.yaml: valid against the compose specification, the services the stack needs, and a scrape that passes."""

import re
from ipaddress import ip_address, ip_network

import pytest
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT, Settings
from app.core.errors import AccessDenied
from app.core.security import require_metrics_access
from tests.deploy.files import COMPOSE, COMPOSE_ENV, ComposeVariableMissing, load_compose, python_tool, run


def test_compose_file_is_valid_against_the_compose_specification():
    result = run(
        [python_tool("check-jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_schema_check_catches_a_wrong_file(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  app:\n    image: x\n    depend_on: [db]\n")  # a misspelt key
    result = run(
        [python_tool("check-jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)]
    )
    assert result.returncode != 0


def test_the_stack_has_every_service():
    assert set(load_compose()["services"]) == {"app", "migrate", "db", "redis", "prometheus", "grafana"}


def test_the_app_runs_several_workers_restarts_and_waits_for_the_migration_and_redis():
    services = load_compose()["services"]
    app = services["app"]
    assert int(app["environment"]["WORKERS"]) >= 2
    assert app["restart"] == "unless-stopped"
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert app["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert app["environment"]["RATE_LIMIT_STORAGE"].startswith("redis://redis:")
    assert "@db:" in app["environment"]["DATABASE_URL"]


def test_the_migration_is_one_shot_after_a_healthy_database():
    migrate = load_compose()["services"]["migrate"]
    assert migrate["command"] == ["python", "-m", "app.cli", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    # The same database as the app.
    assert migrate["environment"]["DATABASE_URL"] == load_compose()["services"]["app"]["environment"]["DATABASE_URL"]


@pytest.mark.parametrize(("service", "command"), [("db", "pg_isready"), ("redis", "redis-cli ping")])
def test_healthchecks_use_the_commands_the_official_images_document(service, command):
    test = load_compose()["services"][service]["healthcheck"]["test"]
    assert command in " ".join(test)


def test_prometheus_loads_the_rules_and_grafana_the_provisioned_dashboard():
    services = load_compose()["services"]
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    mounted = " ".join(services["prometheus"]["volumes"])
    assert "deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml" in mounted
    assert "deploy/grafana/dashboard.json" in " ".join(services["grafana"]["volumes"])


def _scraper_address(compose: dict) -> str:
    """Where Prometheus scrapes from: its fixed address on the stack's network, inside that network's subnet."""
    networks = compose["services"]["prometheus"]["networks"]
    ((name, settings),) = networks.items()
    address = settings["ipv4_address"]
    subnet = compose["networks"][name]["ipam"]["config"][0]["subnet"]
    assert ip_address(address) in ip_network(subnet)
    return address


def test_prometheus_on_the_compose_network_may_scrape_and_others_there_may_not():
    compose = load_compose()
    # The app's own parser and check, on the value the app container gets.
    settings = Settings(metrics_allowed_networks=compose["services"]["app"]["environment"]["METRICS_ALLOWED_NETWORKS"])
    require_metrics_access(client=_scraper_address(compose), api_key=None, settings=settings)
    # Not the whole network: the other containers (and anything published through it) are refused.
    neighbour = str(ip_address(_scraper_address(compose)) + 1)
    with pytest.raises(AccessDenied):
        require_metrics_access(client=neighbour, api_key=None, settings=settings)


def test_compose_refuses_to_start_without_its_secrets():
    # No placeholder password or key: without them compose stops, naming each variable.
    with pytest.raises(ComposeVariableMissing) as refused:
        load_compose(env={})
    for name in COMPOSE_ENV:
        assert name in str(refused.value)
    for name in COMPOSE_ENV:
        with pytest.raises(ComposeVariableMissing, match=name):
            load_compose(env={other: value for other, value in COMPOSE_ENV.items() if other != name})
    assert "change-me" not in COMPOSE.read_text()


def test_with_its_secrets_set_the_stack_gets_them():
    services = load_compose()["services"]
    app = services["app"]["environment"]
    assert app["DATABASE_PASSWORD"] == COMPOSE_ENV["POSTGRES_PASSWORD"]
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == COMPOSE_ENV["POSTGRES_PASSWORD"]
    assert app["MODEL_SIGNING_KEY"] == COMPOSE_ENV["MODEL_SIGNING_KEY"]
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == COMPOSE_ENV["GRAFANA_ADMIN_PASSWORD"]
    # The app's own settings accept what it gets.
    settings = Settings(
        database_url=app["DATABASE_URL"],
        database_password=app["DATABASE_PASSWORD"],
        model_signing_key=app["MODEL_SIGNING_KEY"],
    )
    url = make_url(settings.database_url.get_secret_value())
    assert (url.username, url.password, url.host, url.database) == (
        "segments",
        COMPOSE_ENV["POSTGRES_PASSWORD"],
        "db",
        "segments",
    )


def test_a_postgres_password_of_any_characters_reaches_the_app_whole():
    # Written into DATABASE_URL, an @ or / in it cut the URL; as DATABASE_PASSWORD it is quoted into the URL.
    password = "p@ss:w/rd%40#?"
    app = load_compose(env=COMPOSE_ENV | {"POSTGRES_PASSWORD": password})["services"]["app"]["environment"]
    settings = Settings(database_url=app["DATABASE_URL"], database_password=app["DATABASE_PASSWORD"])
    url = make_url(settings.database_url.get_secret_value())
    assert (url.password, url.host, url.port) == (password, "db", 5432)


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def test_the_app_has_time_to_drain_and_an_init_process():
    app = load_compose()["services"]["app"]
    graceful = float(app["environment"].get("GRACEFUL_TIMEOUT", Settings.model_fields["graceful_timeout"].default))
    assert _seconds(app["stop_grace_period"]) > graceful
    assert app["init"] is True


@pytest.mark.parametrize("service", ["prometheus", "grafana"])
def test_prometheus_and_grafana_listen_on_loopback_only(service):
    for port in load_compose()["services"][service]["ports"]:
        assert port.startswith("127.0.0.1:"), port


# Settings every replica must hold alike (README, "Settings every replica must share", and token login's secret).
SHARED = ("MODEL_SIGNING_KEY", "ADMIN_API_KEYS", "OUTCOME_API_KEYS", "JWT_SECRET", "SMTP_URL")


def test_every_shared_secret_set_beside_compose_reaches_the_app():
    # Compose passes a container only what the file names: an OUTCOME_API_KEYS in .env was silently left out.
    given = {
        "ADMIN_API_KEYS": "compose-admin-key-0123456789",
        "OUTCOME_API_KEYS": "compose-outcome-key-0123456789",
        "JWT_SECRET": "compose-jwt-secret-of-at-least-32-bytes",
        "SMTP_URL": "smtp+starttls://user:pass@mail.example.com:587",
    }
    app = load_compose(env=COMPOSE_ENV | given)["services"]["app"]["environment"]
    assert {name: app.get(name) for name in SHARED} == {"MODEL_SIGNING_KEY": COMPOSE_ENV["MODEL_SIGNING_KEY"]} | given
    settings = Settings(_env_file=None, **{name.lower(): app[name] for name in SHARED})
    assert settings.jwt_secret is not None and settings.smtp_url is not None and settings.outcome_api_keys


def test_the_optional_shared_secrets_left_unset_are_off():
    app = load_compose()["services"]["app"]["environment"]
    # Compose interpolates after reading the YAML, so `${NAME:-}` is an empty string, not the null YAML reads here.
    settings = Settings(_env_file=None, **{name.lower(): app[name] or "" for name in SHARED})
    assert (settings.jwt_secret, settings.smtp_url, settings.outcome_api_keys, settings.admin_api_keys) == (
        None,
        None,
        [],
        [],
    )
