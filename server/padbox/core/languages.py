"""The language catalogue: the manifest in runner-image/ plus the versions read from the image."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from padbox.core.limits import LIMIT_NAMES
from padbox.core.protocol import ErrorCode, ProtocolError, SourceFile


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
    file_from: str | None = None  # regex whose first group names a single-source file (Java's public class)

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    def command(self, template: str, entry: str, args: tuple[str, ...] = ()) -> list[str]:
        """argv for a stage: the manifest's shell command with the entry file filled in, args passed as "$@"."""
        stem = PurePosixPath(entry).stem
        script = template.format(file=shlex.quote(entry), stem=shlex.quote(stem))
        if args:
            script += ' "$@"'
        return ["/bin/sh", "-c", script, "padbox", *args]


class ManifestError(ValueError):
    """The manifest is malformed: the server refuses to start and says where."""


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
        file_from=raw.get("file_from"),
    )


@dataclass(frozen=True)
class Catalogue:
    """Languages by id, with every alias resolved; versions as reported by the image."""

    languages: Mapping[str, Language]
    versions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        with path.open("rb") as f:
            raw = tomllib.load(f)
        languages = {lang_id: _language(lang_id, entry) for lang_id, entry in raw.items()}
        names: dict[str, str] = {}
        for lang in languages.values():
            for name in (lang.id, *lang.aliases):
                if names.setdefault(name.lower(), lang.id) != lang.id:
                    raise ManifestError(f"name {name!r} is used by both {names[name.lower()]} and {lang.id}")
        return cls(languages)

    def with_versions(self, versions: Mapping[str, str]) -> Catalogue:
        return Catalogue(self.languages, dict(versions))

    def __iter__(self) -> Iterator[Language]:
        return iter(self.languages.values())

    def resolve(self, name: str) -> Language:
        """The language a client named by id or alias (any case), or an `unknown_language` error."""
        wanted = name.strip().lower()
        for lang in self.languages.values():
            if wanted == lang.id or wanted in (a.lower() for a in lang.aliases):
                return lang
        valid = ", ".join(sorted(self.languages))
        raise ProtocolError(ErrorCode.UNKNOWN_LANGUAGE, f"unknown language {name!r}; valid languages: {valid}")

    def version(self, lang: Language) -> str:
        return self.versions.get(lang.id, "unknown")

    def describe(self) -> list[dict[str, Any]]:
        """The public listing served at GET /api/v1/languages."""
        return [
            {
                "id": lang.id,
                "name": lang.name,
                "aliases": list(lang.aliases),
                "version": self.version(lang),
                "file": lang.file,
                "compiled": lang.compiled,
                "template": lang.template,
            }
            for lang in sorted(self.languages.values(), key=lambda lang: lang.name.lower())
        ]


def source_files(lang: Language, files: tuple[SourceFile, ...] | None, source: str | None) -> tuple[SourceFile, ...]:
    """The files to write: the client's list, or its single `source` under the language's default name."""
    if files is not None:
        return files
    return (SourceFile(default_file_name(lang, source or ""), source or ""),)


def default_file_name(lang: Language, source: str) -> str:
    """The language's default name, unless its naming rule reads one from the source (`public class Solution`
    must live in Solution.java)."""
    if lang.file_from:
        found = re.search(lang.file_from, source)
        if found:
            return found.group(1) + PurePosixPath(lang.file).suffix
    return lang.file
