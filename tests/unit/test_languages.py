from __future__ import annotations

import time
from pathlib import Path

import pytest

from padbox.config import SHIPPED_MANIFEST
from padbox.core.languages import Catalogue, ManifestError, code_only, entry_point, ml_code_only, source_files
from padbox.core.protocol import ErrorCode, ProtocolError, SourceFile
from padbox.web.rest import languages

MANIFEST = SHIPPED_MANIFEST
CATALOGUE = Catalogue.load(MANIFEST)
COMMON = 'run = "x"\nversion = "x"\ntemplate = "x"\n'


def manifest(tmp_path: Path, *entries: str) -> Path:
    """A manifest of `[id] file=... aliases=...` entries, each completed with the required keys."""
    path = tmp_path / "m.toml"
    path.write_text("".join(f'{entry}\nname = "x"\n{COMMON}' for entry in entries))
    return path


def main_of(lang: str, name: str, source: str) -> str:
    return entry_point(CATALOGUE.resolve(lang), SourceFile(name, source))


# --- names --------------------------------------------------------------------------------------


def test_manifest_loads_and_aliases_resolve_in_any_case() -> None:
    assert CATALOGUE.resolve("PY").id == "python"
    assert CATALOGUE.resolve("c++").id == "cpp"
    assert CATALOGUE.resolve("js").id == "javascript"
    assert {"python", "javascript", "c", "cpp", "bash"} <= set(CATALOGUE.languages)


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        # Piston's runtime names and aliases
        ("c++", "cpp"),
        ("csharp", "csharp"),
        ("javascript", "javascript"),
        ("node", "javascript"),
        ("python3", "python"),
        ("py3", "python"),
        ("typescript", "typescript"),
        ("golang", "go"),
        ("kt", "kotlin"),
        ("cs", "csharp"),
        ("rb", "ruby"),
        ("pl", "perl"),
        ("hs", "haskell"),
        ("clj", "clojure"),
        ("lisp", "commonlisp"),
        ("ex", "elixir"),
        ("exs", "elixir"),
        ("erl", "erlang"),
        ("ml", "ocaml"),
        ("rscript", "r"),
        ("sqlite3", "sql"),
        ("sc", "scala"),
        ("plg", "prolog"),
        ("freepascal", "pascal"),
        # file extensions, most of them derived from the default file's name
        ("py", "python"),
        ("ts", "typescript"),
        ("go", "go"),
        ("rs", "rust"),
        ("java", "java"),
        ("scala", "scala"),
        ("cpp", "cpp"),
        ("cc", "cpp"),
        ("c", "c"),
        ("php", "php"),
        ("lua", "lua"),
        ("r", "r"),
        ("sh", "bash"),
        ("adb", "ada"),
        ("f90", "fortran"),
        ("rkt", "racket"),
        ("groovy", "groovy"),
    ],
)
def test_piston_names_and_file_extensions_resolve(name: str, lang: str) -> None:
    assert CATALOGUE.resolve(name).id == lang


def test_an_extension_resolves_without_being_listed_as_an_alias(tmp_path: Path) -> None:
    catalogue = Catalogue.load(manifest(tmp_path, '[julia]\nfile = "main.JL"'))
    assert catalogue.resolve("jl").id == "julia"
    assert catalogue.aliases(catalogue.resolve("julia")) == ["jl"]


def test_an_explicit_alias_wins_over_an_extension_two_languages_share() -> None:
    # main.pl is Perl's and Prolog's default file: Perl claims `pl` by name.
    assert CATALOGUE.resolve("pl").id == "perl"
    assert "pl" not in CATALOGUE.aliases(CATALOGUE.resolve("prolog"))


def test_the_primary_implementation_keeps_a_shared_extension(tmp_path: Path) -> None:
    path = manifest(tmp_path, '[python-pypy]\nfile = "main.py"', '[python]\nfile = "main.py"')
    assert Catalogue.load(path).resolve("py").id == "python"


def test_two_primaries_sharing_an_extension_is_a_manifest_error_until_one_claims_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="'m' is shared by objectivec, octave"):
        Catalogue.load(manifest(tmp_path, '[objectivec]\nfile = "main.m"', '[octave]\nfile = "main.m"'))
    settled = manifest(tmp_path, '[objectivec]\nfile = "main.m"', '[octave]\nfile = "main.m"\naliases = ["m"]')
    assert Catalogue.load(settled).resolve("m").id == "octave"


def test_alias_clash_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        Catalogue.load(manifest(tmp_path, '[a]\nfile = "x"\naliases = ["z"]', '[b]\nfile = "y"\naliases = ["z"]'))


def test_every_listed_name_resolves_and_every_name_is_listed() -> None:
    listed = {(name, e.id) for e in languages(CATALOGUE) for name in [e.id, *e.aliases]}
    assert {(name, CATALOGUE.resolve(name).id) for name, _ in listed} == listed
    assert {name for name, _ in listed} == {name for name in CATALOGUE.names}


def test_unknown_language_lists_the_valid_ids() -> None:
    with pytest.raises(ProtocolError) as caught:
        CATALOGUE.resolve("klingon")
    assert caught.value.code is ErrorCode.UNKNOWN_LANGUAGE
    assert "python" in caught.value.message and "bash" in caught.value.message


def test_listing_carries_what_the_pad_needs() -> None:
    catalogue = CATALOGUE.with_versions({"python": "3.11.2"})
    entry = next(e for e in languages(catalogue) if e.id == "python")
    assert entry.version == "3.11.2" and entry.file == "main.py" and entry.compiled is False
    assert "input(" in entry.template
    assert catalogue.resolve("py").id == "python"


# --- files --------------------------------------------------------------------------------------


def test_commands_quote_the_entry_and_pass_args_as_positional_parameters() -> None:
    python = CATALOGUE.resolve("python")
    argv = python.command(python.run, SourceFile("my prog.py", ""), ("a b", "$(x)"))
    assert argv[:2] == ["/bin/sh", "-c"]
    assert "'my prog.py'" in argv[2] and argv[2].endswith('"$@"')
    assert argv[3:] == ["padbox", "a b", "$(x)"]


def test_source_goes_under_the_default_file_name() -> None:
    c = CATALOGUE.resolve("c")
    assert source_files(c, None, "int main(){}") == (SourceFile("main.c", "int main(){}"),)


def test_a_single_java_source_is_named_after_its_public_class() -> None:
    java = CATALOGUE.resolve("java")
    named = source_files(java, None, "import java.util.*;\n\npublic final class Solution {\n}\n")
    assert named[0].name == "Solution.java"
    assert source_files(java, None, "class Helper {}\n")[0].name == "Main.java"


def test_a_java_entry_file_of_another_name_is_renamed_after_its_public_class() -> None:
    java = CATALOGUE.resolve("java")
    files = (SourceFile("main.java", "public class Main {}"), SourceFile("Util.java", "class Util {}"))
    assert [f.name for f in source_files(java, files, None)] == ["Main.java", "Util.java"]
    nested = (SourceFile("src/x.java", "public record Point(int x) {}"),)
    assert source_files(java, nested, None)[0].name == "src/Point.java"


def test_the_entry_keeps_its_name_when_a_helper_already_has_the_wanted_one() -> None:
    java = CATALOGUE.resolve("java")
    files = (SourceFile("A.java", "public class B {}"), SourceFile("B.java", "class C {}"))
    assert source_files(java, files, None) == files


def test_an_erlang_entry_file_is_named_after_its_module() -> None:
    erlang = CATALOGUE.resolve("erlang")
    files = source_files(erlang, (SourceFile("main.erl", "%% -module(no).\n-module(hello).\n"),), None)
    assert files[0].name == "hello.erl"
    argv = erlang.command(erlang.run, files[0])
    assert "-s hello main" in argv[2]


def test_a_name_read_from_the_source_is_never_a_path(tmp_path: Path) -> None:
    loose = Catalogue.load(manifest(tmp_path, "[a]\nfile = \"main.a\"\nfile_from = 'name=(\\S+)'"))
    for sneaky in ("../../etc/x", ".hidden", "a/b", "x" * 300):
        assert source_files(loose.resolve("a"), None, f"name={sneaky}")[0].name == "main.a"
    assert source_files(loose.resolve("a"), None, "name=Fine")[0].name == "Fine.a"


def test_languages_without_a_naming_rule_keep_the_clients_names() -> None:
    files = (SourceFile("prog.py", "class Main: pass"),)
    assert source_files(CATALOGUE.resolve("python"), files, None) == files


# --- entry points -------------------------------------------------------------------------------


def test_java_runs_the_class_holding_main_whichever_comes_first() -> None:
    source = "class Helper {\n  void run() {}\n}\n\nclass Solution {\n  public static void main(String[] a) {}\n}\n"
    assert main_of("java", "Main.java", source) == "Solution"


def test_java_main_class_is_prefixed_by_its_package() -> None:
    assert (
        main_of(
            "java",
            "Main.java",
            "package app.core;\n\npublic class Main {\n  public static void main(String... a) {}\n}\n",
        )
        == "app.core.Main"
    )


def test_java_ignores_comments_and_strings_that_look_like_code() -> None:
    source = (
        "// package fake;\n/* class Fake { public static void main(String[] a) {} } */\n"
        "public class Main {\n  static String s = \"}{ class Nope\";\n  static char c = '}';\n"
        "  static public void main(String[] a) {}\n}\n"
    )
    assert main_of("java", "Main.java", source) == "Main"


def test_java_nested_main_class_gets_its_binary_name() -> None:
    source = "public class Outer {\n  static class Inner {\n    public static void main(String[] a) {}\n  }\n}\n"
    assert main_of("java", "Outer.java", source) == "Outer$Inner"


def test_without_a_main_the_stem_is_run_and_the_jvm_says_what_is_missing() -> None:
    assert main_of("java", "Main.java", "class Helper {}") == "Main"
    assert main_of("scala", "main.scala", "") == "main"


def test_scala_object_main_in_a_lower_case_file_runs() -> None:
    # The reported bug: `object Main` in main.scala ran `java main`.
    source = "object Main {\n  def main(args: Array[String]): Unit = println(1)\n}\n"
    assert main_of("scala", "main.scala", source) == "Main"
    scala = CATALOGUE.resolve("scala")
    assert scala.command(scala.run, SourceFile("main.scala", source))[2].endswith(" Main")


def test_scala_app_objects_case_classes_and_packages() -> None:
    assert main_of("scala", "Main.scala", "object Hello extends App {\n  println(1)\n}\n") == "Hello"
    source = (
        "package app\npackage tools\n\ncase class Point(x: Int)\nobject Helper { def twice(n: Int) = 2 * n }\n"
        "object Prog {\n  def main(args: Array[String]): Unit = {}\n}\n"
    )
    assert main_of("scala", "Main.scala", source) == "app.tools.Prog"


def test_kotlin_top_level_main_is_in_the_files_class() -> None:
    source = "package a.b\n\ndata class P(val x: Int)\n\nfun main() {\n    println(P(1))\n}\n"
    assert main_of("kotlin", "Main.kt", source) == "a.b.MainKt"
    assert main_of("kotlin", "my-prog.kt", "fun main() {}") == "My_progKt"


def test_kotlin_main_in_an_object_or_a_companion() -> None:
    assert main_of("kotlin", "Main.kt", "object Hello {\n  @JvmStatic fun main(args: Array<String>) {}\n}\n") == "Hello"
    source = "class App {\n  companion object {\n    @JvmStatic fun main(args: Array<String>) {}\n  }\n}\n"
    assert main_of("kotlin", "Main.kt", source) == "App"


def test_blanking_keeps_offsets_and_lines() -> None:
    source = "a /* x\ny */ \"s{\" '}' // c\nb"
    blank = code_only(source)
    assert len(blank) == len(source) and blank.count("\n") == source.count("\n")
    assert blank.replace(" ", "").replace("\n", "") == "ab"


def test_finding_main_in_deeply_nested_source_takes_linear_time() -> None:
    depth = 50_000
    source = "class A {" * depth + "public static void main(String[] a) {}" + "}" * depth
    began = time.monotonic()
    assert main_of("java", "A.java", source) == "A"  # too long a name to be a class's: the stem
    assert main_of("java", "A.java", "class A {" * 3 + "public static void main(String[] a) {}" + "}" * 3) == "A$A$A"
    assert time.monotonic() - began < 2


@pytest.mark.parametrize(
    "rule",
    [
        "main_from = { unit = '(', marker = 'x' }",
        "main_from = { unit = 'class', marker = 'x' }",
        "main_from = { unit = 'class (\\w+)' }",
        "file_from = 'no group'",
        "script = { unless = 'x' }",
        "script = { run = 'x', unless = '(' }",
        "script = { run = 'x', unless = 'x', syntax = 'lisp' }",
        "script = { run = 'x', unless = 'x', typo = 'x' }",
    ],
)
def test_a_broken_naming_rule_is_a_manifest_error(tmp_path: Path, rule: str) -> None:
    with pytest.raises(ManifestError):
        Catalogue.load(manifest(tmp_path, f'[a]\nfile = "main.a"\n{rule}'))


# --- styles: Standard ML's compiled `main` or a script of top-level declarations --------------------


def sml_stages(source: str) -> tuple[str | None, str]:
    return CATALOGUE.resolve("sml").stages(SourceFile("main.sml", source))


@pytest.mark.parametrize(
    "source",
    [
        'fun main () = print "hi\\n"\n',
        "val limit = 3\n\nfun helper x = x\nand main () = ()\nfun main () = print (Int.toString limit)\n",
        '(* fun main *)\nval main = fn () => print "hi\\n"\n',
        'structure S = struct\n  val () = print "inside"\nend\nfun main () = ()\n',
    ],
)
def test_an_sml_program_with_a_top_level_main_is_compiled_and_runs_main(source: str) -> None:
    compile, run = sml_stages(source)
    assert compile is not None and "PolyML.export" in compile and run == "exec ./main"


@pytest.mark.parametrize(
    "source",
    [
        # The program: top-level declarations, no main.
        'val () = (print "?> "; TextIO.flushOut TextIO.stdOut);\n'
        'val x = case TextIO.inputLine TextIO.stdIn of SOME s => s | NONE => "";\n'
        'val () = print ("got " ^ x);\n',
        '(* fun main () = () *)\nprint "hi"\n',
        'val s = "\nfun main () = ()"\n',
        'structure App = struct\n  fun main () = print "nested"\nend\n',
        # A main called at the top level would run while compiled, with no input.
        'fun main () = print "hi"\nval _ = main ()\n',
        'fun main () = print "hi"\nmain ();\n',
        'val () = print "effect"\nfun main () = ()\n',
    ],
)
def test_an_sml_program_without_main_or_doing_things_at_its_top_level_runs_as_a_script(source: str) -> None:
    compile, run = sml_stages(source)
    assert compile is None and "--padbox-script" in run


def test_ml_blanking_handles_nested_comments_and_strings_and_keeps_offsets() -> None:
    source = '(* a (* b *) c *)x"(* \\" *)"y(*)z*)\n(* open'
    blank = ml_code_only(source)
    assert len(blank) == len(source) and blank.count("\n") == source.count("\n")
    assert blank.replace(" ", "").replace("\n", "") == "xy"
