"""Every language in the runner image, run for real through a live server.

Parametrized over runner-image/languages.toml, so no language can be added without being tested:
its template shows its prompt before any input is typed, then reads a line typed interactively and
answers with it, through a pipe and through a terminal; its deliberate error fails with the right
verdict in the right stage; a program that exits with status 3 reports 3. Two manifest keys say what
a language cannot do, and the test checks what it can instead: `prompt_newline = true` (its prompt
ends its line) and `no_exit_code = true` (it cannot choose its exit status: exit3 may be left out,
and if given it only has to end). A language with a second style (`[<id>.script]`: Standard ML written
as top-level declarations) has its own template, error and exit3 in that style, tested the same way
as `<id>-script`. No compiled language's compile stage runs the program or sees its input.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from typing import Any

import httpx
import pytest
import websockets

from padbox.client import Client, ClosedEarly, Transcript, connect, run_program
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, ProtocolError, SourceFile
from tests.conftest import REPO, languages

MANIFEST_PATH = REPO / "runner-image" / "languages.toml"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads(MANIFEST_PATH.read_text())
LANGUAGE_IDS = sorted(MANIFEST)
SCRIPT = "-script"  # the suffix of a language's script style: `sml-script`
# Each way a program may be written: every language, and `<id>-script` for a language with a script style.
STYLES = sorted([*LANGUAGE_IDS, *(lang + SCRIPT for lang in LANGUAGE_IDS if "script" in MANIFEST[lang])])
PROMPT = "What is your name?"
ANSWER = "Hello, Ada!"
# Longer than any language's compile and run limits together, so a slow toolchain fails on its verdict.
TIMEOUT_S = 180


def language_of(style: str) -> str:
    return style.removesuffix(SCRIPT) if style.endswith(SCRIPT) and style not in MANIFEST else style


def samples(style: str) -> dict[str, Any]:
    """The template, error and exit3 written in a style (a script style's own), with the language's other keys."""
    entry = MANIFEST[language_of(style)]
    return {**entry, **entry["script"]} if style not in MANIFEST else entry


def compiled(style: str) -> bool:
    """Programs in this style have a compile stage (a script style never has)."""
    return style in MANIFEST and "compile" in MANIFEST[style]


def stage_text(t: Transcript, stage: str) -> str:
    return t.text("stdout", stage) + t.text("stderr", stage)


def describe(t: Transcript) -> str:
    """The transcript in a form that makes a failed assertion readable."""
    lines = [f"{f.at:6.2f}s {f.message}" for f in t.frames]
    return "\n".join(lines[-40:])


def prompt_for(style: str) -> str:
    """The output a person sees before typing: the question and the space after it, with nothing after
    that; the question alone (its line ended) where the language cannot print a line without ending it."""
    return PROMPT if samples(style).get("prompt_newline") else PROMPT + " "


async def answer_prompt(ws_url: str, style: str, name: str, tty: bool) -> Transcript:
    """Run the template, wait for its prompt with nothing typed yet, then type a name and end the input,
    as a person would. Fails if the prompt does not arrive on its own (held back in a buffer)."""
    prompt = prompt_for(style)
    async with connect(ws_url) as ws:
        client = Client(ws)
        await client.run(language=name, source=samples(style)["template"], tty=tty)
        try:
            await client.until_output(prompt, timeout=TIMEOUT_S)
        except (ClosedEarly, TimeoutError) as exc:
            raise AssertionError(f"{style}: no prompt {prompt!r} (tty={tty})\n{describe(client.transcript)}") from exc
        if not samples(style).get("prompt_newline"):
            after = client.transcript.text("stdout", "run").split(prompt, 1)[1]  # a compiler's warnings come before
            assert "\n" not in after, f"{style}: the prompt ended its line\n{describe(client.transcript)}"
        await client.stdin("Ada\r" if tty else "Ada\n")  # Enter on a terminal is a carriage return
        with contextlib.suppress(websockets.ConnectionClosed):  # a quick program may be done already
            await client.eof()
        return await client.collect(TIMEOUT_S)


def name_for(lang: str, which: int) -> str:
    """The name a client uses for a language: its id or one of its aliases, so aliases go over the wire too."""
    names: list[str] = [lang, *MANIFEST[lang].get("aliases", [])]
    return names[which % len(names)]


def test_every_entry_is_complete() -> None:
    for style in STYLES:
        entry = samples(style)
        needed = ["name", "file", "run", "version", "template", "error"]
        if not entry.get("no_exit_code"):
            needed.append("exit3")
        missing = [k for k in needed if k not in entry]
        assert not missing, f"{style} lacks {missing}"
        assert PROMPT in entry["template"], f"{style}'s template does not ask {PROMPT!r}"


def test_each_style_s_samples_are_written_in_that_style() -> None:
    catalogue = Catalogue.load(MANIFEST_PATH)
    for style in STYLES:
        lang = catalogue.resolve(language_of(style))
        for key in ("template", "error", "exit3"):
            if key in samples(style):
                compile, _ = lang.stages(SourceFile(lang.file, samples(style)[key]))
                assert (compile is not None) == compiled(style), f"{style}'s {key} runs in another style"


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
@pytest.mark.parametrize("style", STYLES)
async def test_language(ws_url: str, style: str) -> None:
    """The template talks through a pipe and through a terminal; the deliberate error fails in the right
    stage; exit status 3 arrives as 3.

    The runs go at once: one test per language and style keeps the module fast.
    """
    lang, entry = language_of(style), samples(style)
    runs = [
        answer_prompt(ws_url, style, name_for(lang, 0), tty=False),
        answer_prompt(ws_url, style, name_for(lang, 2), tty=True),
        run_program(ws_url, language=name_for(lang, 1), source=entry["error"], timeout=TIMEOUT_S),
    ]
    if "exit3" in entry:
        runs.append(run_program(ws_url, language=name_for(lang, -1), source=entry["exit3"], timeout=TIMEOUT_S))
    piped, terminal, error, *exit3 = await asyncio.gather(*runs)
    for t in (piped, terminal, error, *exit3):
        assert [m["language"] for m in t.of("started")] == [lang], describe(t)

    # The template read the line typed after its prompt and answered with it, in both modes.
    for template in (piped, terminal):
        assert template.verdict == "ok", describe(template)
        assert ANSWER in template.text("stdout", "run").split(PROMPT, 1)[-1], describe(template)
        if compiled(style):
            assert template.exits()["compile"]["verdict"] == "ok", describe(template)
        else:
            assert "compile" not in template.exits(), describe(template)

    # The deliberate error: the compiler's message at compile time, or a failing run.
    if compiled(style):
        assert error.exits()["compile"]["verdict"] == "compile_error", describe(error)
        assert stage_text(error, "compile").strip(), describe(error)
        assert "run" not in error.exits()
    else:
        result = error.exits()["run"]
        assert result["verdict"] == "runtime_error" and result["code"] not in (None, 0), describe(error)
        assert error.text("stderr", "run").strip(), describe(error)

    # A program's own exit status is reported exactly; a language that cannot set one only has to end.
    for t in exit3:
        result = t.exits()["run"]
        if entry.get("no_exit_code"):
            assert result["signal"] is None and result["verdict"] in ("ok", "runtime_error"), describe(t)
        else:
            assert (result["verdict"], result["code"], result["signal"]) == ("runtime_error", 3, None), describe(t)


EFFECT = "top-level effect"
# Programs of compiled languages that do things at their top level (where a compiler might evaluate them),
# each printing EFFECT and reading a line: (language, source). Every compiled language's template runs too.
TOP_LEVEL: list[tuple[str, str]] = [
    (  # the program: top-level declarations, no main
        "sml",
        'val () = (print "top-level effect? "; TextIO.flushOut TextIO.stdOut);\n'
        'val x = case TextIO.inputLine TextIO.stdIn of SOME s => s | NONE => "";\n'
        'val () = print ("Hello, " ^ concat (String.tokens Char.isSpace x) ^ "!\\n");\n',
    ),
    (  # a main called at the top level, as scripts for `poly` and SML/NJ end
        "sml",
        'fun main () =\n  (print "top-level effect? ";\n'
        '   print ("Hello, " ^ concat (String.tokens Char.isSpace (valOf (TextIO.inputLine TextIO.stdIn))) ^ "!"))\n'
        "val _ = main ()\n",
    ),
    (  # CHICKEN compiles top-level forms to run when the program does
        "scheme-chicken",
        '(import (chicken io))\n(display "top-level effect")\n(newline)\n'
        '(display (string-append "Hello, " (read-line) "!"))\n',
    ),
    (  # gplc ignores a directive that is not a declaration; initialization/1 runs when the program does
        "prolog-gnu",
        ":- write('top-level effect'), nl.\n:- initialization(main).\n"
        "main :- write('top-level effect'), nl, write('Hello, Ada!'), nl.\n",
    ),
]
COMPILE_STAGE_CASES = [
    *((lang, MANIFEST[lang]["template"], PROMPT) for lang in LANGUAGE_IDS if compiled(lang)),
    *((lang, source, EFFECT) for lang, source in TOP_LEVEL),
]


@pytest.mark.docker
@pytest.mark.parametrize(
    ("lang", "source", "marker"),
    COMPILE_STAGE_CASES,
    ids=[f"{lang}-{n}" for n, (lang, _, _) in enumerate(COMPILE_STAGE_CASES)],
)
async def test_no_compile_stage_runs_the_program_or_reads_its_input(
    ws_url: str, lang: str, source: str, marker: str
) -> None:
    """The input is there before the compiler starts; still the program's output (its prompt, its top-level
    effects) and its input appear in the run stage only. A compiler that evaluated the program would show
    them in the compile stage's output, or eat the input."""
    end = {"type": "eof"}  # sent at once too: some programs (Node's readline) wait for it after answering
    t = await run_program(ws_url, end, language=lang, source=source, stdin="Ada\n", timeout=TIMEOUT_S)
    compile_output = stage_text(t, "compile")
    assert marker not in compile_output and "Ada" not in compile_output, describe(t)
    assert t.verdict == "ok", describe(t)
    ran = stage_text(t, "run")
    assert marker in ran and ran.index(marker) < ran.index(ANSWER), describe(t)


@pytest.mark.docker
async def test_an_sml_main_that_is_not_at_the_top_level_is_a_one_line_compile_error(ws_url: str) -> None:
    source = 'local\nfun main () = print "hidden"\nin\nend\n'
    t = await run_program(ws_url, language="sml", source=source, timeout=TIMEOUT_S)
    assert t.exits()["compile"]["verdict"] == "compile_error", describe(t)
    assert "error: Value or constructor (main) has not been declared" in stage_text(t, "compile"), describe(t)


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
        {
            "name": "main.c",
            "content": '#include <stdio.h>\n#include "greet.h"\n\n'
            'int main(void) {\n    greet("files");\n    return 0;\n}\n',
        },
        {"name": "greet.h", "content": "void greet(const char *who);\n"},
        {
            "name": "greet.c",
            "content": '#include <stdio.h>\n#include "greet.h"\n\n'
            'void greet(const char *who) {\n    printf("Hello, %s!\\n", who);\n}\n',
        },
    ],
    "python": [
        {"name": "main.py", "content": "from greet import greet\n\ngreet('files')\n"},
        {"name": "greet.py", "content": "def greet(who):\n    print(f'Hello, {who}!')\n"},
    ],
    "java": [
        {
            "name": "Main.java",
            "content": "public class Main {\n    public static void main(String[] args) {\n"
            '        Greeter.greet("files");\n    }\n}\n',
        },
        {
            "name": "Greeter.java",
            "content": "class Greeter {\n    static void greet(String who) {\n"
            '        System.out.println("Hello, " + who + "!");\n    }\n}\n',
        },
    ],
    "typescript": [
        {"name": "main.ts", "content": 'import { greet } from "./greet";\n\ngreet("files");\n'},
        {
            "name": "greet.ts",
            "content": "export function greet(who: string): void {\n  console.log(`Hello, ${who}!`);\n}\n",
        },
    ],
    "go": [
        {"name": "main.go", "content": 'package main\n\nfunc main() {\n\tgreet("files")\n}\n'},
        {
            "name": "greet.go",
            "content": 'package main\n\nimport "fmt"\n\n'
            'func greet(who string) {\n\tfmt.Printf("Hello, %s!\\n", who)\n}\n',
        },
    ],
    "rust": [
        {"name": "main.rs", "content": 'mod greet;\n\nfn main() {\n    greet::greet("files");\n}\n'},
        {"name": "greet.rs", "content": 'pub fn greet(who: &str) {\n    println!("Hello, {}!", who);\n}\n'},
    ],
    "haskell": [
        {"name": "Main.hs", "content": 'import Greet (greet)\n\nmain :: IO ()\nmain = greet "files"\n'},
        {
            "name": "Greet.hs",
            "content": "module Greet (greet) where\n\ngreet :: String -> IO ()\n"
            'greet who = putStrLn ("Hello, " ++ who ++ "!")\n',
        },
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
    source = 'public class Solution {\n  public static void main(String[] a) { System.out.println("named"); }\n}\n'
    t = await run_program(ws_url, language="java", source=source)
    assert t.text() == "named\n" and t.verdict == "ok"


# How users of each language whose run starts a class, object or module write their entry point,
# none of them in the default file: (name, source, expected output). A name of None is a Piston
# request with one unnamed file; the other cases go over the WebSocket.
ENTRY_POINTS: dict[str, list[tuple[str | None, str, str]]] = {
    "java": [
        (
            "solution.java",
            'class Helper {\n    static String hi() { return "two classes"; }\n}\n\n'
            "public class Solution {\n    public static void main(String[] args) {\n"
            "        System.out.println(Helper.hi());\n    }\n}\n",
            "two classes\n",
        ),
        (
            None,
            "public class Hello {\n    public static void main(String[] args) {\n"
            '        System.out.println("no name");\n    }\n}\n',
            "no name\n",
        ),
        (
            "Main.java",
            "package app.core;\n\npublic class Main {\n    public static void main(String[] args) {\n"
            '        System.out.println("package");\n    }\n}\n',
            "package\n",
        ),
    ],
    "scala": [
        (
            "main.scala",
            "case class Point(x: Int)\n\nobject Main {\n  def main(args: Array[String]): Unit =\n"
            '    println(if (Point(1).x == 1) "two classes" else "?")\n}\n',
            "two classes\n",
        ),
        (None, 'object Hello extends App {\n  println("no name")\n}\n', "no name\n"),
        (
            "Main.scala",
            'package app.core\n\nobject Prog {\n  def main(args: Array[String]): Unit =\n    println("package")\n}\n',
            "package\n",
        ),
    ],
    "kotlin": [
        (
            "solution.kt",
            'class Helper {\n    fun hi() = "two classes"\n}\n\nfun main() {\n    println(Helper().hi())\n}\n',
            "two classes\n",
        ),
        (
            None,
            'object Hello {\n    @JvmStatic\n    fun main(args: Array<String>) {\n        println("no name")\n'
            "    }\n}\n",
            "no name\n",
        ),
        ("Main.kt", 'package app.core\n\nfun main() {\n    println("package")\n}\n', "package\n"),
    ],
    "csharp": [
        (
            "solution.cs",
            'class Helper\n{\n    public static string Hi() => "two classes";\n}\n\nclass Prog\n{\n'
            "    static void Main() => System.Console.WriteLine(Helper.Hi());\n}\n",
            "two classes\n",
        ),
        (None, 'class Hello\n{\n    static void Main() => System.Console.WriteLine("no name");\n}\n', "no name\n"),
        (
            "Program.cs",
            "namespace App.Core\n{\n    class Prog\n    {\n"
            '        static void Main() => System.Console.WriteLine("package");\n    }\n}\n',
            "package\n",
        ),
    ],
    "erlang": [
        ("solution.erl", '-module(hello).\n-export([main/0]).\n\nmain() ->\n    io:format("module~n").\n', "module\n"),
        (None, '-module(greet).\n-export([main/0]).\n\nmain() ->\n    io:format("no name~n").\n', "no name\n"),
    ],
}


async def piston_execute(server_url: str, language: str, source: str) -> dict[str, Any]:
    """POST /api/v2/execute as a Piston client sends one program: a single file with no name."""
    body = {"language": language, "version": "*", "files": [{"content": source}]}
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        response = await client.post(f"{server_url}/api/v2/execute", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.docker
@pytest.mark.parametrize("lang", sorted(ENTRY_POINTS))
async def test_entry_point_is_found_from_the_source(server_url: str, ws_url: str, lang: str) -> None:
    """Whatever the file is called (or if it has no name), the run starts what the source declares:
    the class holding main (not the first class), the object, the module, inside its package."""
    cases = ENTRY_POINTS[lang]

    async def run(name: str | None, source: str) -> str:
        if name is None:
            answer = await piston_execute(server_url, lang, source)
            return f"{answer['run']['stdout']}{answer['run']['stderr']}"
        t = await run_program(ws_url, language=lang, files=[{"name": name, "content": source}], timeout=TIMEOUT_S)
        assert t.verdict == "ok", describe(t)
        return t.text("stdout", "run")

    outputs = await asyncio.gather(*(run(name, source) for name, source, _ in cases))
    assert outputs == [expected for _, _, expected in cases]
