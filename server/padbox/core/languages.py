"""The language catalogue: the manifest in runner-image/ plus the versions read from the image.

Two rules live here as pure code, driven by the manifest's data:

- Names: a client names a language by id, alias or the extension of its default file (`py`, `kt`).
  Ids and aliases are unique across the manifest; an extension two languages share goes to the one
  that claims it explicitly, else to the primary implementation over its `<id>-<variant>` alternatives,
  else the manifest is refused until one claims it.
- Entry points: the first file is the entry point. A language that names files after their content
  (Java's public class, Erlang's module) gets its entry file so named (`file_from`); a language that
  starts a class or object by name finds it in the source (`main_from`), not in the file name.
- Styles: a compiled language may also run a program as a script, with no compile stage, when its
  source calls for it (`script`: Standard ML written as top-level declarations, without `main`).
"""

from __future__ import annotations

import bisect
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from padbox.core.limits import LIMIT_NAMES
from padbox.core.protocol import ErrorCode, ProtocolError, SourceFile, check_file_name

# A main class name longer than any the JVM takes falls back to the stem (exec has its limits too).
MAX_MAIN_LENGTH = 1024
# What a name read from a program may be before it names the entry file: no path, no hidden file.
SAFE_NAME = re.compile(r"\w[\w$-]*")


@dataclass(frozen=True)
class MainRule:
    """How to find the class or object a JVM-style run command starts (`{main}`), in the entry's source.

    The entry point is the first of: a declaration that names itself the entry point (`named`, Scala's
    `object X extends App`), or the innermost `unit` whose braces hold the first `marker` (the class
    holding `static void main(`), nested units joined with `$` as the JVM names them. Outside every
    unit, the marker names the file's own class (`top_level`, where `{Stem}` is the file's stem as a
    class name: Kotlin's `MainKt`). The `package` declarations prefix it: `app.Main`. Comments and
    string literals (C-style syntax) are ignored.
    """

    unit: re.Pattern[str]
    marker: re.Pattern[str]
    named: re.Pattern[str] | None = None
    package: re.Pattern[str] | None = None
    top_level: str | None = None


@dataclass(frozen=True)
class ScriptRule:
    """When a compiled language runs a program as a script instead (`run`, with no compile stage), read from
    the entry's code with comments and string literals blanked in the language's `syntax`.

    A program is a script when it lacks the compiled path's entry point (`unless`: Standard ML's top-level
    `fun main`), or does something at its top level that must happen when it runs, with its input, not
    when it is compiled (`when`: `val () = ...`). Patterns match line by line (`^` starts a line).
    """

    run: str
    unless: re.Pattern[str]
    when: re.Pattern[str] | None = None
    syntax: str = "c"

    def applies(self, source: str) -> bool:
        code = SYNTAXES[self.syntax](source)
        return self.unless.search(code) is None or (self.when is not None and self.when.search(code) is not None)


@dataclass(frozen=True)
class Language:
    id: str
    name: str
    file: str
    run: str
    version_command: str
    template: str
    aliases: tuple[str, ...] = ()
    compile: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, float] = field(default_factory=dict)
    error_example: str = ""
    file_from: re.Pattern[str] | None = None  # first group names the entry file (Java's public class)
    main_from: MainRule | None = None
    script: ScriptRule | None = None
    group: str = "Other"  # the family the pad's picker lists it under

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    @property
    def extension(self) -> str:
        """The default file's extension, lower case and without the dot (`R` -> `r`): a name clients may use."""
        return PurePosixPath(self.file).suffix[1:].lower()

    def stages(self, entry: SourceFile) -> tuple[str | None, str]:
        """The compile command (None: no compile stage) and the run command for a program: its language's,
        or the script rule's run alone when the program is written as a script."""
        if self.script is not None and self.script.applies(entry.content):
            return None, self.script.run
        return self.compile, self.run

    def command(self, template: str, entry: SourceFile, args: tuple[str, ...] = ()) -> list[str]:
        """argv for a stage: the manifest's shell command with the entry point filled in ({file}, {stem},
        {main}), args passed as "$@"."""
        stem = PurePosixPath(entry.name).stem
        main = entry_point(self, entry) if "{main}" in template else stem
        script = template.format(file=shlex.quote(entry.name), stem=shlex.quote(stem), main=shlex.quote(main))
        if args:
            script += ' "$@"'
        return ["/bin/sh", "-c", script, "padbox", *args]


class ManifestError(ValueError):
    """The manifest is malformed: the server refuses to start and says where."""


def _regex(lang_id: str, key: str, value: Any, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ManifestError(f"language {lang_id!r}: {key} must be a regular expression")
    try:
        return re.compile(value, flags)
    except re.error as exc:
        raise ManifestError(f"language {lang_id!r}: {key} is not a valid regular expression: {exc}") from None


def _pattern(lang_id: str, key: str, value: Any) -> re.Pattern[str]:
    pattern = _regex(lang_id, key, value)
    if pattern.groups < 1:
        raise ManifestError(f"language {lang_id!r}: {key} needs a group that captures the name")
    return pattern


def _main_rule(lang_id: str, raw: Any) -> MainRule:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"language {lang_id!r}: main_from must be a table")
    unknown = set(raw) - {"unit", "marker", "named", "package", "top_level"}
    if unknown or "unit" not in raw or "marker" not in raw:
        raise ManifestError(
            f"language {lang_id!r}: main_from takes unit and marker, and optionally "
            f"named, package and top_level (got {sorted(raw)})"
        )
    top_level = raw.get("top_level")
    if top_level is not None and not isinstance(top_level, str):
        raise ManifestError(f"language {lang_id!r}: main_from.top_level must be a string")
    return MainRule(
        unit=_pattern(lang_id, "main_from.unit", raw["unit"]),
        marker=_regex(lang_id, "main_from.marker", raw["marker"]),
        named=_pattern(lang_id, "main_from.named", raw["named"]) if "named" in raw else None,
        package=_pattern(lang_id, "main_from.package", raw["package"]) if "package" in raw else None,
        top_level=top_level,
    )


# Keys of a [<id>.script] table: the rule, then what only the tests and the README read (a template, an
# error and an exit3 sample written in the script style, and the rule in words).
SCRIPT_KEYS = {"run", "unless", "when", "syntax", "about", "template", "error", "exit3"}


def _script_rule(lang_id: str, raw: Any) -> ScriptRule:
    if not isinstance(raw, Mapping):
        raise ManifestError(f"language {lang_id!r}: script must be a table")
    unknown = set(raw) - SCRIPT_KEYS
    if unknown or not isinstance(raw.get("run"), str) or "unless" not in raw:
        raise ManifestError(
            f"language {lang_id!r}: script takes run and unless, and optionally "
            f"{', '.join(sorted(SCRIPT_KEYS - {'run', 'unless'}))} (got {sorted(raw)})"
        )
    syntax = raw.get("syntax", "c")
    if syntax not in SYNTAXES:
        raise ManifestError(f"language {lang_id!r}: script.syntax must be one of {sorted(SYNTAXES)}")
    return ScriptRule(
        run=raw["run"],
        unless=_regex(lang_id, "script.unless", raw["unless"], re.MULTILINE),
        when=_regex(lang_id, "script.when", raw["when"], re.MULTILINE) if "when" in raw else None,
        syntax=syntax,
    )


def _language(lang_id: str, raw: Mapping[str, Any]) -> Language:
    required = ("name", "file", "run", "version", "template")
    missing = [k for k in required if not isinstance(raw.get(k), str)]
    if missing:
        raise ManifestError(f"language {lang_id!r} lacks {', '.join(missing)}")
    limits = dict(raw.get("limits", {}))
    unknown = set(limits) - set(LIMIT_NAMES)
    if unknown:
        raise ManifestError(f"language {lang_id!r} has unknown limits {sorted(unknown)}")
    return Language(
        id=lang_id,
        name=raw["name"],
        file=raw["file"],
        run=raw["run"],
        version_command=raw["version"],
        template=raw["template"].lstrip("\n"),
        aliases=tuple(raw.get("aliases", ())),
        compile=raw.get("compile"),
        env=dict(raw.get("env", {})),
        limits=limits,
        error_example=raw.get("error", "").lstrip("\n"),
        file_from=_pattern(lang_id, "file_from", raw["file_from"]) if "file_from" in raw else None,
        main_from=_main_rule(lang_id, raw["main_from"]) if "main_from" in raw else None,
        script=_script_rule(lang_id, raw["script"]) if "script" in raw else None,
        group=str(raw.get("group", "Other")),
    )


def _is_variant(lang_id: str, of: str) -> bool:
    """`c-clang` is a variant of `c`: the primary implementation keeps the shared names."""
    return lang_id.startswith(of + "-")


def resolution_table(languages: Mapping[str, Language]) -> dict[str, str]:
    """Every name a client may use (lower case) -> language id. Raises ManifestError on a clash.

    Ids and explicit aliases first: each names one language only. Then each default file's extension,
    unless a name above already took it: one language deriving it gets it; of several, variants
    (`<id>-<variant>`) yield to their primary; two primaries are a clash the manifest must settle with
    an explicit alias.
    """
    names: dict[str, str] = {}
    for lang in languages.values():
        for name in (lang.id, *lang.aliases):
            if names.setdefault(name.lower(), lang.id) != lang.id:
                raise ManifestError(f"name {name!r} is used by both {names[name.lower()]} and {lang.id}")
    derived: dict[str, list[str]] = {}
    for lang in languages.values():
        if lang.extension and lang.extension not in names:
            derived.setdefault(lang.extension, []).append(lang.id)
    for extension, claimants in derived.items():
        primaries = [c for c in claimants if not any(_is_variant(c, other) for other in claimants)]
        if len(primaries) > 1:
            raise ManifestError(
                f"extension {extension!r} is shared by {', '.join(primaries)}: "
                f"give the one it should mean the alias {extension!r}"
            )
        names[extension] = primaries[0]
    return names


@dataclass(frozen=True)
class Catalogue:
    """Languages by id, with every name a client may use resolved; versions as reported by the image."""

    languages: Mapping[str, Language]
    versions: Mapping[str, str] = field(default_factory=dict)
    names: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", resolution_table(self.languages))

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        with path.open("rb") as f:
            raw = tomllib.load(f)
        return cls({lang_id: _language(lang_id, entry) for lang_id, entry in raw.items()})

    def with_versions(self, versions: Mapping[str, str]) -> Catalogue:
        return Catalogue(self.languages, dict(versions))

    def __iter__(self) -> Iterator[Language]:
        return iter(self.languages.values())

    def resolve(self, name: str) -> Language:
        """The language a client named by id, alias or file extension (any case), or an
        `unknown_language` error."""
        lang_id = self.names.get(name.strip().lower())
        if lang_id is not None:
            return self.languages[lang_id]
        valid = ", ".join(sorted(self.languages))
        raise ProtocolError(ErrorCode.UNKNOWN_LANGUAGE, f"unknown language {name!r}; valid languages: {valid}")

    def aliases(self, lang: Language) -> list[str]:
        """Every other name that resolves to a language: its explicit aliases, then its extension if it
        has it. Listed so that clients can discover them (Piston clients map names to runtimes by them)."""
        explicit = {lang.id, *(a.lower() for a in lang.aliases)}
        return [*lang.aliases, *(n for n, i in self.names.items() if i == lang.id and n not in explicit)]

    def version(self, lang: Language) -> str:
        return self.versions.get(lang.id, "unknown")


def source_files(lang: Language, files: tuple[SourceFile, ...] | None, source: str | None) -> tuple[SourceFile, ...]:
    """The files to write: the client's list, or its single `source` under the language's default name;
    the entry file renamed when the language names it after its content (`file_from`)."""
    if files is None:
        files = (SourceFile(lang.file, source or ""),)
    entry, *rest = files
    name = entry_file_name(lang, entry)
    if name == entry.name or any(f.name == name for f in rest):
        return files  # a helper already has that name: the compiler's own message will say why
    return (SourceFile(name, entry.content), *rest)


def entry_file_name(lang: Language, entry: SourceFile) -> str:
    """The entry's name, unless the language's naming rule reads one from its source: `public class
    Solution` must live in Solution.java, `-module(hello).` in hello.erl. The directory is kept."""
    found = lang.file_from.search(entry.content) if lang.file_from else None
    # The name comes from the program's text: only a plain name may replace the client's checked one,
    # whatever a manifest's pattern lets through (never `../x` or a hidden file).
    if not found or not SAFE_NAME.fullmatch(found.group(1)):
        return entry.name
    name = str(PurePosixPath(entry.name).with_name(found.group(1) + PurePosixPath(lang.file).suffix))
    try:
        check_file_name(name)  # the one rule every file name follows (its length, say)
    except ProtocolError:
        return entry.name
    return name


def default_file_name(lang: Language, source: str) -> str:
    """The name a single `source` is written under: the language's default, or what its naming rule reads."""
    return entry_file_name(lang, SourceFile(lang.file, source))


def entry_point(lang: Language, entry: SourceFile) -> str:
    """What the run command starts as {main}: found by the language's `main_from` rule, else the entry
    file's stem (so the language's own error names what was missing)."""
    stem = PurePosixPath(entry.name).stem
    rule = lang.main_from
    if rule is None:
        return stem
    code = code_only(entry.content)
    found = _main_name(rule, code, stem)
    if found is None:
        return stem
    packages = [m.group(1) for m in rule.package.finditer(code)] if rule.package else []
    main = ".".join([*packages, found])
    # No JVM class name is this long; a program's text must not grow the command past what exec takes.
    return main if len(main) <= MAX_MAIN_LENGTH else stem


def _main_name(rule: MainRule, code: str, stem: str) -> str | None:
    named = rule.named.search(code) if rule.named else None
    marker = rule.marker.search(code)
    if named and (marker is None or named.start() <= marker.start()):
        return named.group(1)
    if marker is None:
        return None
    pairs = _brace_pairs(code)
    opens = sorted(pairs)
    # Each unit's body is the first brace pair after its name; the pairs holding the marker, outermost
    # first, each belong to the last unit declared before it opens (a body-less `case class P(x)`
    # before `object Main {` would otherwise claim Main's braces).
    owners: dict[int, tuple[int, str]] = {}
    for unit in rule.unit.finditer(code):
        index = bisect.bisect_left(opens, unit.end())
        if index < len(opens) and opens[index] < marker.start() < pairs[opens[index]]:
            owners[opens[index]] = max(owners.get(opens[index], (-1, "")), (unit.start(), unit.group(1)))
    if owners:
        return "$".join(name for _, (_, name) in sorted(owners.items()))
    if rule.top_level is None:
        return None
    return rule.top_level.format(Stem=class_name(stem))


def _brace_pairs(code: str) -> dict[int, int]:
    """Each `{` in blanked code -> its `}` (the end of the code if it is never closed), in one pass."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for found in re.finditer(r"[{}]", code):
        if found.group() == "{":
            stack.append(found.start())
        elif stack:
            pairs[stack.pop()] = found.start()
    for open_at in stack:
        pairs[open_at] = len(code)
    return pairs


def class_name(stem: str) -> str:
    """A file stem as the JVM class Kotlin derives from it: first letter upper case, every character
    not allowed in a name replaced by `_` (`my-prog` -> `My_prog`)."""
    name = re.sub(r"\W", "_", stem[:1].upper() + stem[1:])
    return name if name[:1].isalpha() or name[:1] == "_" else "_" + name


_LITERAL = re.compile(
    r'//[^\n]*|/\*.*?(?:\*/|\Z)|"""[\s\S]*?(?:"""|\Z)|"(?:\\.|[^"\\\n])*"?|\'(?:\\.|[^\'\\\n])\'', re.DOTALL
)


def code_only(source: str) -> str:
    """The source with comments and string and character literals blanked to spaces (C-style syntax),
    newlines and offsets kept, so a `class` in a comment or a brace in a string is not read as code."""
    return _LITERAL.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)


def ml_code_only(source: str) -> str:
    """The source with ML comments (nested: `(* a (* b *) c *)`) and string literals blanked to spaces,
    newlines and offsets kept, so a `fun main` in a comment is not read as code."""
    code = list(source)
    depth, at = 0, 0
    while at < len(source):
        start = at
        if source.startswith("(*", at):
            depth, at = depth + 1, at + 2
        elif depth and source.startswith("*)", at):
            depth, at = depth - 1, at + 2
        elif depth:
            at += 1
        elif source[at] == '"':
            at += 1
            while at < len(source) and source[at] != '"':
                at += 2 if source[at] == "\\" else 1
            at += 1
        else:
            at += 1
            continue
        code[start:at] = [c if c == "\n" else " " for c in source[start:at]]
    return "".join(code)


# How comments and string literals look, for the rules that read code (by the manifest's name).
SYNTAXES: dict[str, Callable[[str], str]] = {"c": code_only, "ml": ml_code_only}
