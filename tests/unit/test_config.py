from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

from padbox.backends.docker import can_update, container_config, resource_limits
from padbox.backends.seccomp import security_option
from padbox.config import (
    SETTINGS,
    SHIPPED_MANIFEST,
    ConfigError,
    Setting,
    Settings,
    descriptor,
    flag,
    frame_origins,
    isolation_mode,
    markdown_table,
)
from padbox.core.limits import Limits

README = Path(__file__).resolve().parents[2] / "README.md"


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
    assert all(f"| `{s.env}` |" in table for s in SETTINGS)


def test_the_readme_shows_the_generated_table() -> None:
    assert markdown_table() in README.read_text(), "regenerate it: python -m padbox.config"


def test_each_variable_is_declared_once() -> None:
    names = [s.env for s in SETTINGS]
    assert len(names) == len(set(names))


def another_value(setting: Setting, tmp_path: Path) -> str:
    """A valid value other than the default, for any variable."""
    if setting.env == "PADBOX_MANIFEST":
        (tmp_path / "languages.toml").write_bytes(SHIPPED_MANIFEST.read_bytes())
        return str(tmp_path / "languages.toml")
    if setting.env == "PADBOX_TOKENS_FILE":
        (tmp_path / "tokens").write_text("from-the-file\n")
        return str(tmp_path / "tokens")
    if setting.parse is flag:
        return "0" if setting.default == "1" else "1"
    if setting.parse is isolation_mode:
        return "container"
    if setting.parse is descriptor:
        return "3"
    if setting.env == "PADBOX_WEBHOOK_URL":
        return "https://ats.example/hooks/padbox"
    if setting.parse is frame_origins:
        return "https://ats.example"
    if setting.default.isdigit():
        return str(int(setting.default) * 2 or 1)
    return "something-else"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_variable_changes_what_the_server_runs_with(setting: Setting, tmp_path: Path) -> None:
    env = {setting.env: another_value(setting, tmp_path)}
    if setting.env == "PADBOX_WEBHOOK_URL":
        env["PADBOX_WEBHOOK_SECRET"] = "s3cret"  # a webhook is always signed
    changed = Settings.from_env(env)
    assert changed != Settings.from_env({}), f"{setting.env} is in the table but nothing reads it"


def test_a_webhook_needs_a_secret_an_http_url_and_a_lease_longer_than_an_attempt() -> None:
    with pytest.raises(ConfigError, match="PADBOX_WEBHOOK_SECRET is empty"):
        Settings.from_env({"PADBOX_WEBHOOK_URL": "https://ats.example/hook"})
    with pytest.raises(ConfigError, match="http:// or https://"):
        Settings.from_env({"PADBOX_WEBHOOK_URL": "ftp://ats.example/hook", "PADBOX_WEBHOOK_SECRET": "s"})
    with pytest.raises(ConfigError, match="PADBOX_WEBHOOK_LEASE_S=5 must be more"):
        Settings.from_env(
            {"PADBOX_WEBHOOK_URL": "https://a.example", "PADBOX_WEBHOOK_SECRET": "s", "PADBOX_WEBHOOK_LEASE_S": "5"}
        )


def test_sizes_in_kib_become_bytes_and_lists_are_split() -> None:
    settings = Settings.from_env(
        {
            "PADBOX_MAX_MESSAGE_KB": "2",
            "PADBOX_SHARE_REPLAY_KB": "3",
            "PADBOX_TOKENS": " a, b ,,",
            "PADBOX_ALLOWED_ORIGINS": "https://pad.example/, *",
            "PADBOX_LOG_CONTENT": "yes",
        }
    )
    assert settings.max_message_bytes == 2048 and settings.share_replay_bytes == 3072
    assert settings.tokens == ("a", "b")
    assert settings.allowed_origins == ("https://pad.example", "*")
    assert settings.log_content is True


def test_the_manifest_defaults_to_the_one_shipped_in_the_package() -> None:
    manifest = Settings.from_env({}).manifest
    assert manifest == SHIPPED_MANIFEST and manifest.is_file()
    assert manifest.read_bytes() == (README.parent / "runner-image" / "languages.toml").read_bytes()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT='http' is not a whole number"),
        ({"PORT": "70000"}, "PORT='70000' is not a port number"),
        ({"PADBOX_LISTEN_FD": "1"}, "PADBOX_LISTEN_FD='1' must be the number of an inherited descriptor"),
        ({"PADBOX_MAX_SESSIONS": "0"}, "PADBOX_MAX_SESSIONS='0' must be positive"),
        ({"PADBOX_POOL_SIZE": "-1"}, r"PADBOX_POOL_SIZE='-1' must be a whole number \(0 or more\)"),
        ({"PADBOX_CPUS": "nan"}, "PADBOX_CPUS='nan' must be a positive number"),
        ({"PADBOX_SHARE_GRACE_S": "soon"}, "PADBOX_SHARE_GRACE_S='soon' is not a number"),
        ({"PADBOX_LOG_CONTENT": "Maybe"}, "PADBOX_LOG_CONTENT='Maybe' must be 1 or 0"),
        ({"PADBOX_MANIFEST": "/no/such.toml"}, "PADBOX_MANIFEST='/no/such.toml': no such file"),
        ({"PADBOX_TOKENS_FILE": "/no/tokens"}, "PADBOX_TOKENS_FILE='/no/tokens' cannot be read"),
        ({"PADBOX_DEFAULT_MEMORY_MB": "4096"}, "PADBOX_DEFAULT_MEMORY_MB=4096 is above PADBOX_MAX_MEMORY_MB=1024"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_container_config_is_locked_down() -> None:
    settings = Settings.from_env({"PADBOX_RUNTIME": "runsc"})
    limits = settings.limits.defaults
    config = container_config(settings, limits, "abc", ["true"])
    host = config["HostConfig"]
    assert config["Labels"]["padbox.session"] == "abc"
    assert config["User"] == "1000:1000" and config["NetworkDisabled"]
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"]
    assert host["SecurityOpt"] == ["no-new-privileges", security_option()] and host["Runtime"] == "runsc"
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


def test_limit_variables_parse_to_the_types_of_limits() -> None:
    limits = Settings.from_env({}).limits
    for f in fields(Limits):
        integral = f.type in ("int", int)
        for value in (getattr(limits.defaults, f.name), getattr(limits.maxima, f.name)):
            assert isinstance(value, int) if integral else isinstance(value, float), f.name


def test_a_pooled_container_takes_a_runs_memory_and_pids_by_update_but_not_a_smaller_work_directory() -> None:
    settings = Settings.from_env({})
    defaults = settings.limits.defaults
    java = settings.limits.resolve({"memory_mb": 512, "pids": 256})
    assert can_update(settings, defaults, java)
    assert resource_limits(settings, java) == {"Memory": 512 << 20, "MemorySwap": 512 << 20, "PidsLimit": 256}
    made = container_config(settings, java, "s", ["agent"])["HostConfig"]
    assert {k: made[k] for k in ("Memory", "MemorySwap", "PidsLimit")} == resource_limits(settings, java)
    # 128 MB means 32 MB work directories (a quarter of it), fixed when a container is made
    assert not can_update(settings, defaults, settings.limits.resolve({"memory_mb": 128}))
    gvisor = Settings.from_env({"PADBOX_RUNTIME": "runsc"})
    assert not can_update(gvisor, defaults, java) and can_update(gvisor, defaults, defaults)
