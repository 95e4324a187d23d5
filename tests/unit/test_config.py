from __future__ import annotations

import pytest

from server.config import ConfigError, Settings, markdown_table
from server.sandbox import container_config


def test_defaults_match_the_documented_behaviour() -> None:
    settings = Settings.from_env({})
    assert settings.first_message_timeout_s == 10
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.image == "padbox-runner:latest"


def test_environment_overrides_and_bad_values_fail_clearly() -> None:
    assert Settings.from_env({"PADBOX_MAX_MEMORY_MB": "2048"}).limits.maxima.memory_mb == 2048
    with pytest.raises(ConfigError, match="PADBOX_DEFAULT_PIDS"):
        Settings.from_env({"PADBOX_DEFAULT_PIDS": "lots"})
    with pytest.raises(ValueError):
        Settings.from_env({"PADBOX_DEFAULT_MEMORY_MB": "4096"})


def test_every_setting_is_in_the_reference_table() -> None:
    table = markdown_table()
    assert "PADBOX_MAX_RUN_TIMEOUT_S" in table and "`HOST`" in table


def test_container_config_is_locked_down() -> None:
    settings = Settings.from_env({"PADBOX_RUNTIME": "runsc"})
    limits = settings.limits.defaults
    config = container_config(settings, limits, "abc", ["true"])
    host = config["HostConfig"]
    assert config["Labels"]["padbox.session"] == "abc"
    assert config["User"] == "1000:1000" and config["NetworkDisabled"]
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"]
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Init"] and host["Runtime"] == "runsc"
    assert host["Memory"] == host["MemorySwap"] == limits.memory_bytes
    assert host["PidsLimit"] == limits.pids
    assert host["LogConfig"]["Type"] == "none"
    assert "size=64m" in host["Tmpfs"]["/work"]
