"""Compile-time attacks: the compiler itself is made to read forever, recurse, explode or write a huge
object. Each ends within the compile limits, with no run stage after it.

A compiler that the kernel stops at the memory limit gets `memory_limit` (the limit it hit is named), one
that hits the wall clock `timeout`, one that gives up by itself `compile_error`."""

from __future__ import annotations

import pytest

from tests.security.target import SLACK_S, Target, program, stage_wall_s

pytestmark = pytest.mark.docker

LIMITS = {"compile_timeout_s": 5, "memory_mb": 128}
STOPPED = ("timeout", "memory_limit", "compile_error")


async def test_including_stdin_at_compile_time_reads_nothing_of_the_users_input(target: Target) -> None:
    """The compile stage's stdin is closed as it starts: `#include </dev/stdin>` reads an empty file at once (it
    used to wait for input until the compile limit), and input sent with the run reaches only the program."""
    source = (
        "#include </dev/stdin>\n#include <stdio.h>\n"
        'int main(void) { char s[64] = ""; fgets(s, 64, stdin); printf("[%s]", s); }\n'
    )
    t = await target.run("c", source, {"type": "stdin", "data": "int leaked = 1;\n"}, limits=LIMITS)
    assert [m["stage"] for m in t.of("stage")] == ["compile", "run"], t.frames
    assert stage_wall_s(t, "compile") < LIMITS["compile_timeout_s"], "the compile did not wait for input"
    assert t.verdict == "ok" and t.text() == "[int leaked = 1;\n]", t.frames
    await target.survived(t)


@pytest.mark.parametrize(
    ("language", "source", "verdicts"),
    [
        pytest.param("c", "#include </dev/random>\nint main(void) { return 0; }\n", STOPPED, id="include /dev/random"),
        pytest.param(
            "cpp",
            "template<int N> struct R { typedef typename R<N + 1>::t t; };\nint main() { return sizeof(R<0>::t); }\n",
            # g++ gives up at its depth limit after about a second of CPU; on a loaded machine (CI ran it at a
            # load of 15 on 2 cores) that second can take longer than the 5 s wall limit, and the watchdog ends it.
            ("compile_error", "timeout"),
            id="template recursion",
        ),
        pytest.param("cpp", program("template_explosion.cpp"), STOPPED, id="template explosion"),
        pytest.param("c", program("macro_bomb.c"), STOPPED, id="macro bomb"),
        pytest.param(
            "c",
            "char big[1UL << 31] = {1};\nint main(int c, char **v) { (void)v; return big[c * 4096]; }\n",
            ("compile_error",),
            id="huge static array",
        ),
    ],
)
async def test_compile_time_attacks_end_within_the_compile_limits(
    target: Target, language: str, source: str, verdicts: tuple[str, ...]
) -> None:
    t = await target.run(language, source, limits=LIMITS)
    assert [m["stage"] for m in t.of("stage")] == ["compile"], "no run stage follows"
    assert t.verdict in verdicts, t.exits()
    assert stage_wall_s(t, "compile") < LIMITS["compile_timeout_s"] + SLACK_S
    await target.survived(t)
