"""Every language in the runner image, run for real through a live server.

Parametrized over runner-image/languages.toml, so no language can be added without being tested:
its template prompts, reads a line typed interactively and answers with it; its deliberate error
fails with the right verdict in the right stage; a program that exits with status 3 reports 3.
Two manifest keys say what a language cannot do: `prompt_newline` (its prompt ends a line) and
`no_exit_code` (it cannot set its exit status, so its exit3 program only has to end).
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from typing import Any

import pytest
import websockets
from padbox.client import Client, ClosedEarly, Transcript, connect, run_program
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError

from tests.conftest import REPO, languages

MANIFEST_PATH = REPO / "runner-image" / "languages.toml"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads(MANIFEST_PATH.read_text())
LANGUAGE_IDS = sorted(MANIFEST)
PROMPT = "What is your name?"
# Longer than any language's compile and run limits together, so a slow toolchain fails on its verdict.
TIMEOUT_S = 180


def compiled(lang: str) -> bool:
    return "compile" in MANIFEST[lang]


def stage_text(t: Transcript, stage: str) -> str:
    return t.text("stdout", stage) + t.text("stderr", stage)


def describe(t: Transcript) -> str:
    """The transcript in a form that makes a failed assertion readable."""
    lines = [f"{f.at:6.2f}s {f.message}" for f in t.frames]
    return "\n".join(lines[-40:])


async def answer_prompt(ws_url: str, language: str, source: str) -> Transcript:
    """Run a program, wait for its prompt, then type a name and end the input, as a person would."""
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language=language, source=source, tty=False)
        try:
            await client.until_output(PROMPT, timeout=TIMEOUT_S)
        except (ClosedEarly, TimeoutError) as exc:
            raise AssertionError(f"{language}: no prompt\n{describe(client.transcript)}") from exc
        await client.stdin("Ada\n")
        with contextlib.suppress(websockets.ConnectionClosed):  # a quick program may be done already
            await client.eof()
        return await client.collect(TIMEOUT_S)


def name_for(lang: str, which: int) -> str:
    """The name a client uses for a language: its id or one of its aliases, so aliases go over the wire too."""
    names: list[str] = [lang, *MANIFEST[lang].get("aliases", [])]
    return names[which % len(names)]


def test_every_entry_is_complete() -> None:
    for lang, entry in MANIFEST.items():
        missing = [k for k in ("name", "file", "run", "version", "template", "error", "exit3") if k not in entry]
        assert not missing, f"{lang} lacks {missing}"
        assert PROMPT in entry["template"], f"{lang}'s template does not ask {PROMPT!r}"


def test_every_alias_resolves_to_its_language() -> None:
    catalogue = Catalogue.load(MANIFEST_PATH)
    for lang, entry in MANIFEST.items():
        for name in (lang, *entry.get("aliases", [])):
            assert catalogue.resolve(name).id == lang
            assert catalogue.resolve(name.upper()).id == lang


def test_an_unknown_name_lists_every_valid_id() -> None:
    with pytest.raises(ProtocolError) as caught:
        Catalogue.load(MANIFEST_PATH).resolve("fsharp")
    assert caught.value.code is ErrorCode.UNKNOWN_LANGUAGE
    assert all(lang in caught.value.message for lang in LANGUAGE_IDS)


@pytest.mark.docker
async def test_unknown_language_over_the_wire_names_the_valid_ids(ws_url: str) -> None:
    t = await run_program(ws_url, language="brainfork", source="+")
    assert t.error["code"] == "unknown_language"
    assert all(lang in t.error["message"] for lang in LANGUAGE_IDS)
    assert not t.of("started")


@pytest.mark.docker
def test_every_language_reports_the_version_read_from_the_image(server_url: str) -> None:
    listed = {str(e["id"]): str(e["version"]) for e in languages(server_url)}
    assert set(listed) == set(MANIFEST)
    unknown = [lang for lang, version in listed.items() if not version[:1].isdigit()]
    assert not unknown, f"no version for {unknown}"


@pytest.mark.docker
@pytest.mark.parametrize("lang", LANGUAGE_IDS)
async def test_language(ws_url: str, lang: str) -> None:
    """The template talks; the deliberate error fails in the right stage; exit status 3 arrives as 3.

    The three runs go at once: one test per language keeps the module fast.
    """
    entry = MANIFEST[lang]
    template, error, exit3 = await asyncio.gather(
        answer_prompt(ws_url, name_for(lang, 0), entry["template"]),
        run_program(ws_url, language=name_for(lang, 1), source=entry["error"], timeout=TIMEOUT_S),
        run_program(ws_url, language=name_for(lang, -1), source=entry["exit3"], timeout=TIMEOUT_S),
    )
    for t in (template, error, exit3):
        assert [m["language"] for m in t.of("started")] == [lang], describe(t)

    # The template read the line typed after its prompt and answered with it.
    assert template.verdict == "ok", describe(template)
    answer = template.text("stdout", "run")
    assert "Ada" in answer.split(PROMPT, 1)[-1], describe(template)
    # The prompt stays on the line where the name is typed, unless the language writes whole lines only.
    assert PROMPT + ("\n" if entry.get("prompt_newline") else " ") in answer, describe(template)
    if compiled(lang):
        assert template.exits()["compile"]["verdict"] == "ok", describe(template)

    # The deliberate error: the compiler's message at compile time, or a failing run.
    if compiled(lang):
        assert error.exits()["compile"]["verdict"] == "compile_error", describe(error)
        assert stage_text(error, "compile").strip(), describe(error)
        assert "run" not in error.exits()
    else:
        result = error.exits()["run"]
        assert result["verdict"] == "runtime_error" and result["code"] not in (None, 0), describe(error)
        assert error.text("stderr", "run").strip(), describe(error)

    # A program's own exit status is reported exactly; a language that cannot set one only has to end.
    result = exit3.exits()["run"]
    if entry.get("no_exit_code"):
        assert result["signal"] is None and result["verdict"] in ("ok", "runtime_error"), describe(exit3)
    else:
        assert (result["verdict"], result["code"], result["signal"]) == ("runtime_error", 3, None), describe(exit3)


@pytest.mark.docker
async def test_python_has_its_scientific_stack(ws_url: str) -> None:
    source = (
        "import numpy, pandas, scipy.linalg, sympy\n"
        "frame = pandas.DataFrame({'x': numpy.arange(4)})\n"
        "print(int(frame.x.sum()), round(float(scipy.linalg.det(numpy.eye(3))), 1), sympy.factor('x**2 - 1'))\n"
    )
    t = await run_program(ws_url, language="python", source=source, timeout=TIMEOUT_S)
    assert t.verdict == "ok", describe(t)
    assert t.text("stdout", "run") == "6 1.0 (x - 1)*(x + 1)\n"


MULTI_FILE: dict[str, list[dict[str, str]]] = {
    "c": [
        {"name": "main.c", "content": '#include <stdio.h>\n#include "greet.h"\n\n'
                                      'int main(void) {\n    greet("files");\n    return 0;\n}\n'},
        {"name": "greet.h", "content": "void greet(const char *who);\n"},
        {"name": "greet.c", "content": '#include <stdio.h>\n#include "greet.h"\n\n'
                                       'void greet(const char *who) {\n    printf("Hello, %s!\\n", who);\n}\n'},
    ],
    "python": [
        {"name": "main.py", "content": "from greet import greet\n\ngreet('files')\n"},
        {"name": "greet.py", "content": "def greet(who):\n    print(f'Hello, {who}!')\n"},
    ],
    "java": [
        {"name": "Main.java", "content": "public class Main {\n    public static void main(String[] args) {\n"
                                         '        Greeter.greet("files");\n    }\n}\n'},
        {"name": "Greeter.java", "content": "class Greeter {\n    static void greet(String who) {\n"
                                            '        System.out.println("Hello, " + who + "!");\n    }\n}\n'},
    ],
    "typescript": [
        {"name": "main.ts", "content": 'import { greet } from "./greet";\n\ngreet("files");\n'},
        {"name": "greet.ts", "content": "export function greet(who: string): void {\n"
                                        "  console.log(`Hello, ${who}!`);\n}\n"},
    ],
    "go": [
        {"name": "main.go", "content": 'package main\n\nfunc main() {\n\tgreet("files")\n}\n'},
        {"name": "greet.go", "content": 'package main\n\nimport "fmt"\n\n'
                                        'func greet(who string) {\n\tfmt.Printf("Hello, %s!\\n", who)\n}\n'},
    ],
    "rust": [
        {"name": "main.rs", "content": 'mod greet;\n\nfn main() {\n    greet::greet("files");\n}\n'},
        {"name": "greet.rs", "content": 'pub fn greet(who: &str) {\n    println!("Hello, {}!", who);\n}\n'},
    ],
    "haskell": [
        {"name": "Main.hs", "content": 'import Greet (greet)\n\nmain :: IO ()\nmain = greet "files"\n'},
        {"name": "Greet.hs", "content": 'module Greet (greet) where\n\ngreet :: String -> IO ()\n'
                                        'greet who = putStrLn ("Hello, " ++ who ++ "!")\n'},
    ],
    "ocaml": [
        {"name": "main.ml", "content": 'let () = Greet.greet "files"\n'},
        {"name": "greet.ml", "content": 'let greet who = Printf.printf "Hello, %s!\\n" who\n'},
    ],
}


@pytest.mark.docker
@pytest.mark.parametrize("lang", sorted(MULTI_FILE))
async def test_helper_file_next_to_the_entry_point(ws_url: str, lang: str) -> None:
    t = await run_program(ws_url, language=lang, files=MULTI_FILE[lang], timeout=TIMEOUT_S)
    assert t.verdict == "ok", describe(t)
    assert t.text("stdout", "run") == "Hello, files!\n", describe(t)


@pytest.mark.docker
async def test_java_source_with_any_public_class_name_runs(ws_url: str) -> None:
    source = "public class Solution {\n  public static void main(String[] a) { System.out.println(\"named\"); }\n}\n"
    t = await run_program(ws_url, language="java", source=source)
    assert t.text() == "named\n" and t.verdict == "ok"
