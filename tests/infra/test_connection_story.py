"""One connection story: every tool connects from the same settings (``infra.temporal.connect_config``)
and ``make run``'s env file names its stack (``infra.settings.stack_env``)."""

from __future__ import annotations

import os

import pytest

from infra.settings import Settings, stack_env
from infra.temporal import connect_config


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("TEMPORAL_", "DAIBAN_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_nothing_set_means_make_runs_dev_server_on_its_port(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DAIBAN_TEMPORAL_PORT", "17233")
    cfg = connect_config(Settings())
    assert cfg["target_host"] == "127.0.0.1:17233" and cfg["namespace"] == "default"


def test_temporal_address_is_read_and_daibans_own_wins(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_ADDRESS", "10.0.0.5:7233")
    clean_env.setenv("TEMPORAL_NAMESPACE", "zone-a")
    assert connect_config(Settings())["target_host"] == "10.0.0.5:7233"
    assert connect_config(Settings())["namespace"] == "zone-a"
    clean_env.setenv("DAIBAN_TEMPORAL_ADDRESS", "10.0.0.6:7233")
    assert connect_config(Settings())["target_host"] == "10.0.0.6:7233"


def test_the_env_file_names_the_stack(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DAIBAN_TEMPORAL_PORT", "17233")
    clean_env.setenv("DAIBAN_GATEWAY_PORT", "18080")
    clean_env.setenv("DAIBAN_STATE_DIR", "some/state")
    env = stack_env(Settings(), "postgresql://postgres@127.0.0.1:5433/postgres")
    assert env["TEMPORAL_ADDRESS"] == "127.0.0.1:17233" and env["TEMPORAL_NAMESPACE"] == "default"
    assert env["DAIBAN_GATEWAY_URL"] == "http://127.0.0.1:18080"
    assert os.path.isabs(env["DAIBAN_STATE_DIR"]), "credentials are found from any folder"
    # Read back as every tool reads it: the same address.
    for k, v in env.items():
        clean_env.setenv(k, v)
    clean_env.delenv("DAIBAN_TEMPORAL_PORT")
    assert connect_config(Settings())["target_host"] == "127.0.0.1:17233"
    assert Settings().database_url == env["DATABASE_URL"]
