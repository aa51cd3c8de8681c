"""Settings read from the environment: list settings in either form, the secret Redis URL, and PUBLIC_URL."""

import pytest
from pydantic import ValidationError

from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.setting_errors import settings_or_exit, settings_problems


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        ('["admin-key-one-0123"]', ["admin-key-one-0123"]),
        ('["admin-key-one-0123", "admin-key-two-0123"]', ["admin-key-one-0123", "admin-key-two-0123"]),
        ("admin-key-one-0123,admin-key-two-0123", ["admin-key-one-0123", "admin-key-two-0123"]),
        (" admin-key-one-0123 , admin-key-two-0123 ,", ["admin-key-one-0123", "admin-key-two-0123"]),
        ("[]", []),
        ("", []),
    ],
)
def test_admin_keys_from_the_environment_read_as_json_list_or_commas(monkeypatch, raw, keys):
    monkeypatch.setenv("ADMIN_API_KEYS", raw)
    settings = Settings(_env_file=None)
    assert [key.get_secret_value() for key in settings.admin_api_keys] == keys


def test_json_list_form_works_for_every_list_setting(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", '["https://a.example"]')
    monkeypatch.setenv("METRICS_ALLOWED_NETWORKS", '["10.0.0.0/8"]')
    settings = Settings(_env_file=None)
    assert settings.cors_origins == ["https://a.example"]
    assert [str(network) for network in settings.metrics_allowed_networks] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("raw", "message"), [('["k"', "starts like a JSON list but is not one"), ('["k", 1]', "strings only")]
)
def test_a_broken_json_list_refuses_to_start_with_a_message(monkeypatch, raw, message):
    monkeypatch.setenv("ADMIN_API_KEYS", raw)
    with pytest.raises(ValidationError, match=message) as error:
        Settings(_env_file=None)
    assert "admin_api_keys" in str(error.value)


def test_redis_password_is_never_printed():
    settings = Settings(_env_file=None, rate_limit_storage="redis://:s3cret@redis.internal:6379/0")
    assert settings.rate_limit_storage.get_secret_value().startswith("redis://:s3cret@")
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("JWT_SECRET", "shortSECRETVAL", "SECRETVAL"),
        ("ADMIN_API_KEYS", '["adminSECRETKEY', "SECRETKEY"),
        ("OUTCOME_API_KEYS", "[badOUTCOMESECRET", "OUTCOMESECRET"),
        ("RATE_LIMIT_STORAGE", "redis://:REDISSECRET@127.0.0.1:notport/0", "REDISSECRET"),
        ("RATE_LIMIT_STORAGE", "redis://:REDISSECRET@redis.internal/0", "REDISSECRET"),
    ],
)
def test_a_refused_secret_setting_is_named_but_never_quoted(monkeypatch, variable, value, secret):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    assert variable.lower() in str(error.value)
    assert secret not in str(error.value) and secret not in repr(error.value)


@pytest.mark.parametrize("variable", ["ADMIN_API_KEYS", "OUTCOME_API_KEYS"])
def test_an_api_key_shorter_than_16_characters_is_refused_without_quoting_it(monkeypatch, variable):
    monkeypatch.setenv(variable, "admin-key-long-enough-0123,x")
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    [line] = settings_problems(error.value)
    assert line.startswith(f"invalid setting {variable}: every key needs at least 16 characters")
    assert "long-enough" not in line


def test_unknown_rate_limit_storage_is_refused():
    with pytest.raises(ValidationError, match="memory:// or a redis://"):
        Settings(_env_file=None, rate_limit_storage="mongodb://db")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"host": "0.0.0.0", "port": 9000}, "http://127.0.0.1:9000"),
        ({"host": "::"}, "http://[::1]:8000"),
        ({"host": "fd00::5"}, "http://[fd00::5]:8000"),
        ({"public_url": "https://segments.example.com/"}, "https://segments.example.com"),
        ({"public_url": ""}, "http://127.0.0.1:8000"),
    ],
)
def test_base_url_is_the_public_url_or_host_and_port(overrides, expected):
    assert Settings(_env_file=None, **overrides).base_url == expected


@pytest.mark.parametrize("url", ["segments.example.com", "ftp://segments.example.com", "https://a.example/'; rm"])
def test_public_url_must_be_an_absolute_http_url(url):
    with pytest.raises(ValidationError, match="absolute http"):
        Settings(_env_file=None, public_url=url)


def test_a_misspelt_setting_keyword_is_refused_not_ignored():
    with pytest.raises(TypeError, match=r"unknown setting\(s\): job_root"):
        Settings(_env_file=None, job_root="/tmp/jobs")


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PORT", "abc", "valid integer"),
        ("LOG_LEVEL", "LOUD", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("CORS_ORIGINS", "*", "'*' is not allowed"),
        ("PUBLIC_READS", "maybe", "valid boolean"),
        ("SESSION_TTL", "0", "greater than or equal to 60"),
        ("JWT_TTL_SECONDS", "-5", "greater than or equal to 30"),
        ("WEBHOOK_MAX_ATTEMPTS", "0", "greater than or equal to 1"),
        ("PREDICTION_LOG_SAMPLE", "2", "less than or equal to 1"),
        ("METRICS_ALLOWED_NETWORKS", "bad", "not a valid IPv4 network"),
        ("DATABASE_URL", "bogus://x", "use sqlite:///"),
    ],
)
def test_a_refused_setting_is_one_line_naming_it_the_problem_and_the_value(monkeypatch, variable, value, problem):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    lines = settings_problems(error.value)
    assert len(lines) == 1
    assert lines[0].startswith(f"invalid setting {variable}: ") and problem in lines[0]
    assert variable == "DATABASE_URL" or f"(got {value!r})" in lines[0]


def test_settings_across_fields_are_one_line_naming_them(monkeypatch):
    monkeypatch.setenv("JWT_ALGORITHM", "RS256")
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    assert settings_problems(error.value) == [
        "invalid setting: JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY_FILE to name a PEM file"
    ]


def test_several_refused_settings_give_one_line_each_and_no_secret(monkeypatch):
    monkeypatch.setenv("PORT", "abc")
    monkeypatch.setenv("JWT_SECRET", "shortSECRETVAL")
    monkeypatch.setenv("ADMIN_API_KEYS", '["adminSECRETKEY')
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    lines = settings_problems(error.value)
    assert [line.split(":")[0] for line in lines] == [
        "invalid setting PORT",
        "invalid setting ADMIN_API_KEYS",
        "invalid setting JWT_SECRET",
    ]
    assert not any("SECRET" in line.split(":", 1)[1] for line in lines)


@pytest.mark.parametrize(
    "url", ["bogus://x", "postgres://u:pw@db/segments", "postgresql+asyncpg://db/x", "segments.db"]
)
def test_a_database_url_the_app_cannot_use_is_refused_at_settings(url):
    with pytest.raises(ValidationError, match="postgresql\\+psycopg://") as error:
        Settings(_env_file=None, database_url=url)
    assert "pw" not in str(error.value)


@pytest.mark.parametrize(
    "url", ["sqlite:///data/log.sqlite3", "sqlite+pysqlite:///:memory:", "postgresql+psycopg://u:p@db:5432/x"]
)
def test_a_database_url_the_app_speaks_is_accepted(url):
    assert Settings(_env_file=None, database_url=url).database_url.get_secret_value() == url


def test_settings_or_exit_prints_the_lines_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "abc")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stop:
            settings_or_exit()
    finally:
        get_settings.cache_clear()
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "invalid setting PORT: Input should be a valid integer, unable to parse string as an integer (got 'abc')"
    ]


@pytest.mark.parametrize(
    "url", ["ftp://mail.example.com", "smtp://mailer:MAILSECRET@mail.example.com:notaport", "smtp://:25", "smtps://h 2"]
)
def test_an_smtp_url_sending_cannot_use_is_refused_without_quoting_it(url):
    with pytest.raises(ValidationError, match="smtp://, smtp\\+starttls:// or smtps://") as error:
        Settings(_env_file=None, smtp_url=url)
    assert "MAILSECRET" not in str(error.value) and "notaport" not in str(error.value)


def test_mail_settings_lose_the_newline_a_secret_file_ends_with(monkeypatch):
    monkeypatch.setenv("SMTP_URL", "smtp+starttls://mailer:pw@mail.example.com:587\n")
    monkeypatch.setenv("SMTP_FROM", "Segments <segments@example.com>\n")
    settings = Settings(_env_file=None)
    assert settings.smtp_url.get_secret_value() == "smtp+starttls://mailer:pw@mail.example.com:587"
    assert settings.smtp_from == "Segments <segments@example.com>"


@pytest.mark.parametrize("sender", ["segments@example.com\nBcc: someone@example.com", "segments", "sé@example.com"])
def test_an_smtp_from_that_is_not_one_ascii_address_on_one_line_is_refused(sender):
    with pytest.raises(ValidationError, match="one ASCII address on one line"):
        Settings(_env_file=None, smtp_from=sender)


def test_a_metrics_folder_that_cannot_be_made_is_one_settings_line(tmp_path):
    # Workers write their counters there: an unwritable one stopped start-up with a traceback and exit 1.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, prometheus_multiproc_dir=str(blocker / "metrics"))
    [line] = settings_problems(refused.value)
    assert line.startswith("invalid setting PROMETHEUS_MULTIPROC_DIR: this user cannot create or write that folder")
    assert Settings(_env_file=None, prometheus_multiproc_dir=str(tmp_path / "new" / "metrics")).prometheus_multiproc_dir


@pytest.mark.parametrize(
    "variable", ["HOST", "MODEL_DIR", "DATA_PATH", "PROCESSED_DIR", "JOBS_DIR", "SCORE_RESULTS_DIR"]
)
@pytest.mark.parametrize("empty", ["", " ", "\n"])
def test_an_empty_host_or_folder_means_its_default(monkeypatch, variable, empty):
    # `JOBS_DIR=` from .env.example named the project folder itself, and an empty HOST listened on every interface.
    monkeypatch.delenv(variable, raising=False)
    default = getattr(Settings(_env_file=None), variable.lower())
    monkeypatch.setenv(variable, empty)
    assert getattr(Settings(_env_file=None), variable.lower()) == default


def test_env_example_gives_the_defaults(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    from_example = Settings(_env_file=PROJECT_ROOT / ".env.example")
    defaults = Settings(_env_file=None)
    assert {name: str(getattr(from_example, name)) for name in Settings.model_fields} == {
        name: str(getattr(defaults, name)) for name in Settings.model_fields
    }


def test_a_folder_read_from_a_secret_file_loses_its_line_end(tmp_path):
    assert Settings(_env_file=None, model_dir=f"{tmp_path}\n").model_dir == tmp_path


@pytest.mark.parametrize("host", ["localhost:8000", "http://127.0.0.1", "127.0.0.1 8000", "-bad", "a..b"])
def test_a_host_that_cannot_be_listened_on_is_one_line_naming_it(monkeypatch, host):
    # uvicorn said only "[Errno -2] Name or service not known", after the whole start-up.
    monkeypatch.setenv("HOST", host)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    [line] = settings_problems(refused.value)
    assert line.startswith("invalid setting HOST: use an IP address or a host name, without scheme or port")


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "segments-1.internal", "my_host"])
def test_an_address_or_host_name_is_a_host(host):
    assert Settings(_env_file=None, host=host).host == host


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql+psycopg://segments:DBSECRET@db:notaport/segments", "its port is not a number"),
        ("postgresql+psycopg://segments:DBSECRET@db:99999/segments", "its port is not a number"),
        ("postgresql+psycopg://segments:DB@SECRET@db:5432/segments", "write @ as %40"),
        ("postgresql+psycopg://segments:DBSECRET@db:5432/seg\tments", "a line break or a control character"),
    ],
)
def test_a_database_url_the_driver_cannot_read_is_one_line_never_quoting_it(monkeypatch, url, problem):
    # A port that was not a number stopped start-up with a traceback; an unencoded @ in the password had the driver's
    # "failed to resolve host 'SECRET@db'" quote the rest of the password in the log.
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    [line] = settings_problems(refused.value)
    assert line.startswith("invalid setting DATABASE_URL: ") and problem in line
    assert "SECRET" not in line and "SECRET" not in str(refused.value)


@pytest.mark.parametrize("variable", ["DATABASE_URL", "RATE_LIMIT_STORAGE"])
def test_a_url_read_from_a_secret_file_loses_its_line_end(monkeypatch, variable):
    url = {"DATABASE_URL": "postgresql+psycopg://u:pw@db:5432/segments", "RATE_LIMIT_STORAGE": "redis://:pw@r:6379/0"}
    monkeypatch.setenv(variable, url[variable] + "\n")
    assert getattr(Settings(_env_file=None), variable.lower()).get_secret_value() == url[variable]


@pytest.mark.parametrize(
    "url",
    ["sqlite:////srv/my data/log.sqlite3", "postgresql+psycopg://u:p%40ss@[::1]:5432/x", "postgresql+psycopg:///x"],
)
def test_a_database_url_with_a_spaced_folder_an_encoded_password_or_no_host_is_accepted(url):
    assert Settings(_env_file=None, database_url=url).database_url.get_secret_value() == url


@pytest.mark.parametrize("padding", ["\n", " ", "\r\n"])
def test_a_jwt_secret_loses_a_secret_files_line_end(monkeypatch, padding):
    # Only the server reads it, every replica the same value: a Secret made with --from-file keeps working.
    monkeypatch.setenv("JWT_SECRET", "KEYSECRET-" + "k" * 40 + padding)
    assert Settings(_env_file=None).jwt_secret.get_secret_value() == "KEYSECRET-" + "k" * 40


@pytest.mark.parametrize("variable", ["MODEL_SIGNING_KEY"])
@pytest.mark.parametrize("padding", ["\n", " ", "\r\n"])
def test_a_key_with_a_line_end_from_a_secret_file_is_one_line_never_quoting_it(monkeypatch, variable, padding):
    # Kept, it signed with another key than `$(cat file)` gives the CLI: each refused the other's models.
    monkeypatch.setenv(variable, "KEYSECRET-" + "k" * 40 + padding)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    [line] = settings_problems(refused.value)
    assert line.startswith(f"invalid setting {variable}: starts or ends with a space or a line break")
    assert "KEYSECRET" not in line and "KEYSECRET" not in str(refused.value)
