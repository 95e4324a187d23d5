from __future__ import annotations

from pathlib import Path

import pytest
from padbox.config import SHIPPED_MANIFEST
from padbox.core.languages import Catalogue, ManifestError, source_files
from padbox.core.protocol import ErrorCode, ProtocolError, SourceFile

MANIFEST = SHIPPED_MANIFEST


def test_manifest_loads_and_aliases_resolve_in_any_case() -> None:
    catalogue = Catalogue.load(MANIFEST)
    assert catalogue.resolve("PY").id == "python"
    assert catalogue.resolve("c++").id == "cpp"
    assert catalogue.resolve("js").id == "javascript"
    assert {"python", "javascript", "c", "cpp", "bash"} <= set(catalogue.languages)


def test_unknown_language_lists_the_valid_ids() -> None:
    with pytest.raises(ProtocolError) as caught:
        Catalogue.load(MANIFEST).resolve("klingon")
    assert caught.value.code is ErrorCode.UNKNOWN_LANGUAGE
    assert "python" in caught.value.message and "bash" in caught.value.message


def test_commands_quote_the_entry_and_pass_args_as_positional_parameters() -> None:
    python = Catalogue.load(MANIFEST).resolve("python")
    argv = python.command(python.run, "my prog.py", ("a b", "$(x)"))
    assert argv[:2] == ["/bin/sh", "-c"]
    assert "'my prog.py'" in argv[2] and argv[2].endswith('"$@"')
    assert argv[3:] == ["padbox", "a b", "$(x)"]


def test_source_goes_under_the_default_file_name() -> None:
    c = Catalogue.load(MANIFEST).resolve("c")
    assert source_files(c, None, "int main(){}") == (SourceFile("main.c", "int main(){}"),)


def test_listing_carries_what_the_pad_needs() -> None:
    catalogue = Catalogue.load(MANIFEST).with_versions({"python": "3.11.2"})
    entry = next(e for e in catalogue.describe() if e["id"] == "python")
    assert entry["version"] == "3.11.2" and entry["file"] == "main.py" and entry["compiled"] is False
    assert "input(" in str(entry["template"])


def test_alias_clash_is_a_manifest_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    common = 'file = "x"\nrun = "x"\nversion = "x"\ntemplate = "x"\n'
    bad.write_text(f'[a]\nname = "A"\naliases = ["z"]\n{common}[b]\nname = "B"\naliases = ["z"]\n{common}')
    with pytest.raises(ManifestError):
        Catalogue.load(bad)


def test_a_single_java_source_is_named_after_its_public_class() -> None:
    java = Catalogue.load(MANIFEST).resolve("java")
    named = source_files(java, None, "import java.util.*;\n\npublic final class Solution {\n}\n")
    assert named[0].name == "Solution.java"
    assert source_files(java, None, "class Helper {}\n")[0].name == "Main.java"
