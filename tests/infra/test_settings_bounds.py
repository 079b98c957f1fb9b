"""Every setting a deployment gives is checked when the process starts: a value out of bounds is a
``ConfigError`` naming the variable (and a JSON setting's entry), never a worker or gateway that
starts and fails later (README "Configuration": a misconfiguration stops with one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import roles
from infra.settings import ConfigError, load_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in roles.known_variables():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("DAIBAN_SHUTDOWN_GRACE_SECONDS", "-3", "DAIBAN_SHUTDOWN_GRACE_SECONDS"),
        ("DAIBAN_TEMPORAL_NAMESPACE", "", "DAIBAN_TEMPORAL_NAMESPACE"),
        ("DAIBAN_TASK_QUEUE", "", "DAIBAN_TASK_QUEUE"),
        ("DAIBAN_GATEWAY_PORT", "-5", "DAIBAN_GATEWAY_PORT"),
        ("DAIBAN_GATEWAY_PORT", "0", "DAIBAN_GATEWAY_PORT"),
        ("DAIBAN_METRICS_PORT", "99999", "DAIBAN_METRICS_PORT"),
        ("DAIBAN_TEMPORAL_PORT", "70000", "DAIBAN_TEMPORAL_PORT"),
        ("DAIBAN_ENVELOPE_MAX_TTL_SECONDS", "-1", "DAIBAN_ENVELOPE_MAX_TTL_SECONDS"),
        ("DAIBAN_GATEWAY_MAX_BODY_BYTES", "10", "DAIBAN_GATEWAY_MAX_BODY_BYTES"),
        ("DAIBAN_DEPARTMENT_WEBHOOKS", '{"housing": "housing.example"}', "DAIBAN_DEPARTMENT_WEBHOOKS[housing]"),
        ("DAIBAN_DEPARTMENT_WEBHOOKS", '{"housing": "ftp://x.example/a"}', "DAIBAN_DEPARTMENT_WEBHOOKS[housing]"),
        ("DAIBAN_NOTIFY_WEBHOOK", "sms-gateway:8000", "DAIBAN_NOTIFY_WEBHOOK"),
        ("DAIBAN_OPERATOR_TOKENS", '{"portal": "CHANGE-ME"}', "DAIBAN_OPERATOR_TOKENS[portal]"),
        ("DAIBAN_PRINCIPALS", '{"portal": {"token": "short", "roles": ["reader"], "zones": ["*"]}}', "token"),
        ("DAIBAN_PRINCIPALS", "<JSON: principal -> token, roles and scope>", "not valid JSON"),
        ("DAIBAN_CONTACT_KEYS", "{'k1': 'x'}", "not valid JSON"),
        ("DAIBAN_DEPARTMENT_KEYS", '{"market": ""}', "DAIBAN_DEPARTMENT_KEYS[market]"),
        (
            "DAIBAN_PRINCIPALS",
            '{"market-system": {"token": "0123456789abcdef", "roles": ["department"], "department": "market"}}',
            "DAIBAN_PRINCIPALS[market-system]: a department principal is named by its department code",
        ),
        (
            "DAIBAN_PRINCIPALS",
            '{"a": {"token": "0123456789abcdef", "roles": ["agent"]},'
            ' "b": {"token": "0123456789abcdef", "roles": ["lead"]}}',
            "DAIBAN_PRINCIPALS: a and b share a token",
        ),
    ],
)
def test_a_value_out_of_bounds_names_its_variable(
    env: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    env.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{variable}"), caught.value
    assert named in str(caught.value), caught.value


def test_the_values_a_deployment_gives_are_taken(env: pytest.MonkeyPatch) -> None:
    env.setenv("DAIBAN_DEPARTMENT_WEBHOOKS", '{"housing": "https://housing.example.gov.cn/applications"}')
    env.setenv("DAIBAN_NOTIFY_WEBHOOK", "")  # empty, as a Secret holds it: unset
    env.setenv("DAIBAN_OPERATOR_TOKENS", '{"portal": "0123456789abcdef"}')
    env.setenv("DAIBAN_METRICS_PORT", "0")  # off
    env.setenv("DAIBAN_SHUTDOWN_GRACE_SECONDS", "0")
    env.setenv("DAIBAN_READY_FILE", "/tmp/daiban-ready")
    s = load_settings()
    assert s.department_webhooks == {"housing": "https://housing.example.gov.cn/applications"}
    assert s.notify_webhook is None and s.metrics_port == 0 and s.shutdown_grace_seconds == 0
    assert s.operator_tokens["portal"].get_secret_value() == "0123456789abcdef"
    assert s.ready_file == Path("/tmp/daiban-ready")
