from __future__ import annotations

from dataclasses import replace

import pytest
from padbox.backends.docker import container_config
from padbox.config import ConfigError, Settings, markdown_table


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


def test_a_sandbox_is_pinged_before_it_can_count_as_lost() -> None:
    settings = Settings.from_env({"PADBOX_PING_INTERVAL_S": "0.5", "PADBOX_PING_TIMEOUT_S": "3"})
    assert (settings.ping_interval_s, settings.ping_timeout_s) == (0.5, 3)
    with pytest.raises(ConfigError, match="PADBOX_PING_TIMEOUT_S"):
        Settings.from_env({"PADBOX_PING_INTERVAL_S": "10", "PADBOX_PING_TIMEOUT_S": "10"})


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
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Runtime"] == "runsc"
    assert not host["Init"] and config["StdinOnce"], "the agent is pid 1 and ends with the server's attach"
    assert host["Memory"] == host["MemorySwap"] == limits.memory_bytes
    assert host["PidsLimit"] > limits.pids, "under gVisor the sandbox's own host threads count too"
    assert host["OomScoreAdj"] < 1000, "the program (1000) goes before the agent"
    assert host["LogConfig"]["Type"] == "none"
    assert config["StopTimeout"] == 1, "the agent ignores SIGTERM: a stopping engine need not wait 10 s"
    assert "size=64m" in host["Tmpfs"]["/work"] and "nr_inodes=" in host["Tmpfs"]["/work"]


def test_files_in_memory_never_take_more_than_a_quarter_of_the_memory_limit() -> None:
    settings = Settings.from_env({})
    small = replace(settings.limits.defaults, memory_mb=64, pids=32)
    host = container_config(settings, small, "abc", ["true"])["HostConfig"]
    assert "size=16m" in host["Tmpfs"]["/work"] and "size=16m" in host["Tmpfs"]["/tmp"]
    assert host["ShmSize"] == 16 << 20
    assert host["PidsLimit"] == 32, "under runc the pids limit is exact"
