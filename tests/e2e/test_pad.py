"""The web pad as a person uses it: write a program, run it, talk to it in the terminal, stop it."""

from __future__ import annotations

import pytest

from .pad import Pad

pytestmark = [pytest.mark.browser, pytest.mark.docker]

GREETER = 'name = input("name? ")\nprint("Hello, " + name + "!")\n'


def test_python_program_asks_for_a_name_typed_in_the_terminal(pad: Pad) -> None:
    pad.choose("python")
    pad.type_code(GREETER)
    assert pad.code() == GREETER

    pad.page.keyboard.press("ControlOrMeta+Enter")
    pad.wait_for_output("name?")
    pad.type_in_terminal("Ada\n")
    text = pad.wait_for_output("Hello, Ada!")

    assert pad.wait_for_verdict() == "ok"
    # The pseudo-terminal echoes what was typed, once: the pad does not echo it again.
    assert "name? Ada\n" in text
    assert "AdaAda" not in text
    line = pad.status_line()
    assert "exit 0" in line
    assert "wall " in line
    assert "memory " in line


def test_c_syntax_error_shows_the_compiler_message(pad: Pad) -> None:
    pad.choose("c")
    pad.set_code('#include <stdio.h>\n\nint main(void) {\n    printf("hi\\n")\n    return 0;\n}\n')
    pad.run()

    assert pad.wait_for_verdict() == "compile_error"
    text = pad.terminal_text()
    assert "error:" in text
    assert "expected" in text
    assert "compile failed" in pad.status_line()


def test_stop_ends_an_endless_loop(pad: Pad) -> None:
    pad.choose("python")
    pad.set_code("while True:\n    pass\n")
    pad.run()
    pad.wait_for_status("running")
    assert pad.page.is_enabled("#stop")

    pad.stop()

    assert pad.wait_for_verdict(timeout=10_000) == "killed"
    pad.wait_until_idle()
    assert pad.page.is_disabled("#stop")


def test_switching_language_loads_its_template_and_runs_again(pad: Pad) -> None:
    pad.choose("python")
    pad.set_code('print("first run")\n')
    pad.run()
    pad.wait_for_output("first run")
    assert pad.wait_for_verdict() == "ok"

    pad.choose("c")
    assert pad.code() == pad.language("c")["template"]
    pad.run()
    pad.wait_for_output("What is your name?")
    pad.type_in_terminal("Grace\n")
    text = pad.wait_for_output("Hello, Grace!")
    assert "first run" not in text, "each run starts with a clean terminal"
    assert pad.wait_for_verdict() == "ok"

    # The Python code written before is still there when switching back.
    pad.choose("python")
    assert pad.code() == 'print("first run")\n'


def test_run_while_running_replaces_the_running_program(pad: Pad) -> None:
    pad.choose("python")
    pad.set_code('print("looping", flush=True)\nwhile True:\n    pass\n')
    pad.run()
    pad.wait_for_output("looping")

    pad.set_code('print("replacement")\n')
    pad.run()
    text = pad.wait_for_output("replacement")
    assert pad.wait_for_verdict() == "ok"
    assert "looping" not in text


def test_pipe_mode_echoes_typing_and_colours_stderr(pad: Pad) -> None:
    pad.choose("python")
    pad.page.uncheck("#tty")
    pad.set_code(
        "import sys\n"
        'name = input("name? ")\n'
        'print("to stderr", file=sys.stderr, flush=True)\n'
        'print("Hello, " + name + "!")\n'
    )
    pad.run()
    pad.wait_for_output("name?")
    # A typo and a backspace: the pad's own line editor handles them, as no pseudo-terminal does here.
    pad.type_in_terminal("Adx")
    pad.page.keyboard.press("Backspace")
    pad.page.keyboard.type("a\n")
    text = pad.wait_for_output("Hello, Ada!")

    assert pad.wait_for_verdict() == "ok"
    assert "name? Ada\n" in text
    red = pad.page.locator(".xterm-rows .xterm-fg-1").all_inner_texts()
    assert "to stderr" in "".join(red), "stderr is drawn in red"


def test_terminal_size_follows_the_window(pad: Pad) -> None:
    pad.choose("python")
    pad.set_code('import os\ninput()\nprint("size", os.get_terminal_size().columns)\n')
    pad.run()
    pad.wait_for_status("running")
    before = pad.page.evaluate("window.padbox.terminalSize().cols")
    pad.page.set_viewport_size({"width": 900, "height": 700})
    # The resize observer fits the terminal on a later frame: wait for that, not for a fixed time.
    pad.page.wait_for_function(f"() => window.padbox.terminalSize().cols !== {before}")
    cols = pad.page.evaluate("window.padbox.terminalSize().cols")
    pad.type_in_terminal("\n")
    pad.wait_for_output(f"size {cols}")
    assert pad.wait_for_verdict() == "ok"


@pytest.mark.parametrize("page", [{"viewport": {"width": 768, "height": 1024}, "scheme": "dark"}], indirect=True)
def test_tablet_width_puts_the_editor_above_the_terminal_in_dark(pad: Pad) -> None:
    editor = pad.page.locator("#editor").bounding_box()
    terminal = pad.page.locator("#terminal").bounding_box()
    assert editor is not None and terminal is not None
    assert editor["y"] + editor["height"] <= terminal["y"]
    assert terminal["x"] + terminal["width"] <= 768
    background = pad.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    pad.choose("python")
    pad.set_code('print("\\x1b[32mgreen\\x1b[0m on dark")\n')
    pad.run()
    pad.wait_for_output("green on dark")
    assert pad.wait_for_verdict() == "ok"


def test_the_language_picker_groups_eighty_languages_and_finds_one_by_any_name(pad: Pad) -> None:
    groups = pad.page.eval_on_selector_all("#language optgroup", "gs => gs.map(g => g.label)")
    assert {"C family and systems", "JVM and .NET", "Scripting", "Shells"} <= set(groups)
    assert pad.page.eval_on_selector_all("#language option", "os => os.length") >= 80

    search = pad.page.locator("#language-search")
    search.fill("scheme")
    visible = pad.page.eval_on_selector_all("#language option", "os => os.filter(o => !o.hidden).map(o => o.value)")
    assert {"scheme", "scheme-chez", "scheme-chicken", "scheme-mit"} <= set(visible)
    assert "java" not in visible
    search.fill("gccgo")  # an alias
    search.press("Enter")
    pad.page.wait_for_function("() => window.padbox.language() === 'go-gccgo'")
    assert pad.page.input_value("#language") == "go-gccgo"
    assert search.input_value() == "", "Enter picks and clears the search"
    assert "package main" in pad.code()  # the picked language's template is open
