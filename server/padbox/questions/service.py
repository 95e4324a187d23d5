"""The question bank and the pads' side of it: questions written and read (hidden cases for operators only),
pads made from a question, and "Run tests" with its results told to each participant as its role allows.

Every transport (web/questions.py, the CLI) asks here; every rule about who sees a hidden case is here, once:
`CaseResult.for_role`, and who is `full` for a question (an operator, a pad's owner; web/answers.ShownQuestion
leaves the hidden cases out for everyone else).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import replace
from typing import Any

import msgspec
from pycrdt import Map

from padbox.core.access import token_from
from padbox.core.door import Credentials, Door
from padbox.core.languages import Catalogue
from padbox.core.protocol import ErrorCode, PadCloseCode, ProtocolError, SourceFile
from padbox.core.runner import Runner
from padbox.pads import model
from padbox.pads.messages import AnyPadAction, NewPad, PadEvent, Report, RunTestsAction
from padbox.pads.model import PadError, PadErrorCode
from padbox.pads.service import NewPadKeys, Pads
from padbox.pads.store import PadRecord
from padbox.questions import files
from padbox.questions.model import Question, TestCase, Visibility, check
from padbox.questions.report import build as build_report
from padbox.questions.store import QuestionStore, TestRunRecord
from padbox.questions.test_runs import CaseResult, CaseSpec, CompileOutcome, Outcome, run_cases

log = logging.getLogger("padbox.questions")

TESTS = "tests"  # the pad document's Y.Map of its own cases: id -> {name, stdin, expected}
MAX_CUSTOM_CASES = 20
FORGET_EVERY_S = 3600.0


# --- events on a pad's events socket ----------------------------------------------------------------------
class CaseHeader(msgspec.Struct, frozen=True):
    index: int
    name: str
    hidden: bool
    custom: bool


class TestRunStarted(PadEvent, frozen=True, tag="test_run"):
    __test__ = False
    run_id: str
    by: str
    at: float
    language: str
    cases: tuple[CaseHeader, ...]


class TestCaseFinished(PadEvent, frozen=True, tag="test_case"):
    __test__ = False
    run_id: str
    result: CaseResult


class TestRunFinished(PadEvent, frozen=True, tag="test_run_finished", omit_defaults=True):
    __test__ = False
    run_id: str
    at: float
    passed: int
    total: int
    summary: str
    compiles: int
    compile: CompileOutcome | None = None


class PadQuestionChanged(PadEvent, frozen=True, tag="pad_question"):
    slug: str
    title: str


def conflict(what: str) -> PadError:
    return PadError(ErrorCode.BUSY, what, 409, PadCloseCode.TOO_FAST)


def no_question(slug: str) -> PadError:
    return PadError(PadErrorCode.NOT_FOUND, f"no question has the slug {slug!r}", 404, PadCloseCode.NOT_FOUND)


def operator_only() -> PadError:
    return PadError(
        PadErrorCode.FORBIDDEN,
        "this needs an operator token (PADBOX_ADMIN_TOKENS, else PADBOX_TOKENS): as ?token= or Authorization: Bearer",
        403,
        PadCloseCode.NOT_FOUND,
    )


def custom_cases(doc_tests: Mapping[str, Any]) -> list[TestCase]:
    """The pad's own cases from its document, by id order; anything malformed is skipped, never fatal."""
    cases: list[TestCase] = []
    for key in sorted(doc_tests)[:MAX_CUSTOM_CASES]:
        value = doc_tests[key]
        if not isinstance(value, Mapping):
            continue
        name = " ".join(str(value.get("name") or f"custom {len(cases) + 1}").split())[:80] or "custom"
        cases.append(
            TestCase(
                name=name,
                stdin=str(value.get("stdin") or ""),
                expected=str(value.get("expected") or ""),
                visibility=Visibility.VISIBLE,
            )
        )
    return cases


class QuestionService:
    """The bank (CRUD, search, files) and the pads' questions and test runs. It sits on the pads: it gets the
    Runner for its runs (`start`, and `count_start` for a test run's one start), the Door for the languages, and
    the pads for rooms and keys; the pads know nothing of it."""

    def __init__(
        self,
        store: QuestionStore,
        runner: Runner,
        door: Door,
        pads: Pads,
        operator_tokens: tuple[str, ...],
        parallel: int,
    ) -> None:
        self.store = store
        self.runner = runner
        self.door = door
        self.pads = pads
        self.operator_tokens = operator_tokens  # PADBOX_ADMIN_TOKENS, else PADBOX_TOKENS (assembly.py decides)
        self.parallel = parallel
        self.running: dict[str, str] = {}  # pad id -> its test run going on
        self._tasks: set[asyncio.Task[None]] = set()
        self._forgetter: asyncio.Task[None] | None = None

    @property
    def catalogue(self) -> Catalogue:
        return self.door.catalogue

    # --- life -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Migrations, the shipped starter set into an empty bank, and the hourly forgetting of purged pads (the
        Node calls it once the pads' store is open: the bank's tables live in the same database)."""
        await self.store.open()
        starters = files.read_bank(files.bundled_bank(), self.catalogue)
        if imported := await self.store.put_all(starters, into_empty=True):
            log.info("imported the %d questions of the starter set", len(imported))
        self._forgetter = asyncio.get_running_loop().create_task(self._forget_periodically(), name="questions-gc")

    async def stop(self) -> None:
        """Cancel the test runs still being recorded and the forgetting (the Node calls it once the runs ended)."""
        tasks = [*self._tasks, *([self._forgetter] if self._forgetter else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task

    async def _forget_periodically(self) -> None:
        while True:
            try:
                await self.store.forget_gone_pads()
            except Exception:  # a database hiccup: next time
                log.exception("forgetting purged pads' questions failed")
            await asyncio.sleep(FORGET_EVERY_S)

    # --- the bank -------------------------------------------------------------------------------------
    def is_operator(self, query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        """An operator token: one of PADBOX_ADMIN_TOKENS, else of PADBOX_TOKENS; none configured, nobody."""
        allowed = self.operator_tokens
        token = token_from(query, headers)
        if not allowed or not token:
            return False
        return any(hmac.compare_digest(token.encode(), t.encode()) for t in allowed)

    async def put(self, question: Question) -> tuple[Question, bool]:
        checked = check(question, self.catalogue)
        return checked, await self.store.put(checked)

    async def get(self, slug: str) -> Question:
        question = await self.store.get(slug)
        if question is None:
            raise no_question(slug)
        return question

    async def delete(self, slug: str) -> None:
        if not await self.store.delete(slug):
            raise no_question(slug)

    # --- pads on questions ------------------------------------------------------------------------------
    async def create_pad(self, request: NewPad) -> NewPadKeys:
        """A pad made from `request.question`: its title and its language's starter, then linked to it."""
        assert request.question is not None
        new = await self.pads.create(await self.lay_out(request))
        await self.store.attach(new.id, request.question)
        return new

    async def lay_out(self, request: NewPad) -> NewPad:
        """The request with the question's title and its language's starter filled in; 404 for an unknown one."""
        assert request.question is not None
        question = await self.get(request.question)
        language = self.catalogue.resolve(request.language or "python")
        starter = question.starter(language.id)
        files_ = (SourceFile(starter.file, starter.content),) if starter else None
        return msgspec.structs.replace(
            request, language=language.id, title=request.title or question.title, files=request.files or files_
        )

    async def pad_question(self, pad_id: str, key: str) -> tuple[Question | None, bool]:
        """The pad's question (None if none) and whether the key's role may see its hidden cases (the owner)."""
        pad, role = await self.pads.enter(pad_id, key)
        slug = await self.store.attached(pad.id)
        return (await self.store.get(slug) if slug else None), role.is_owner

    async def set_pad_question(self, pad_id: str, key: str, slug: str) -> Question:
        """The owner puts the pad on a question (or another one); every page is told."""
        pad, role = await self.pads.enter(pad_id, key)
        if not role.is_owner:
            raise model.forbidden("only the pad's owner may choose its question")
        question = await self.get(slug)
        await self.store.attach(pad.id, slug)
        room = self.pads.rooms.get(pad.id)
        if room is not None:
            room.announce(lambda _: PadQuestionChanged(question.slug, question.title))
        return question

    # --- Run tests ------------------------------------------------------------------------------------
    async def run_tests(self, pad_id: str, key: str, name: str | None, credentials: Credentials) -> str:
        """Start a pad's test run; its results go to the pad's events sockets. Returns its id."""
        pad, role = await self.pads.enter(pad_id, key)
        if not role.can_edit:
            raise model.forbidden("a view link cannot run the tests: ask the owner for an edit link")
        async with self.pads.using(pad) as room:
            if room.ended:
                raise model.pad_ended()
            if pad.id in self.running:
                raise conflict("the tests are already running in this pad")
            content = model.read_content(room.doc)
            request = model.run_request(content, tty=False)
            self.catalogue.resolve(request.language)
            slug = await self.store.attached(pad.id)
            question = await self.store.get(slug) if slug else None
            specs = [CaseSpec(case) for case in (question.cases if question else ())]
            specs += [CaseSpec(case, custom=True) for case in custom_cases(room.doc.get(TESTS, type=Map).to_py())]
            if not specs:
                raise model.malformed("nothing to test: the pad has no question and no cases of its own")
            run_id = secrets.token_hex(8)
            await self.runner.count_start(credentials, f"tests-{run_id}")  # one start, however many cases
            author = {"name": model.display_name(name, role), "role": role.value}
            started = TestRunStarted(
                run_id,
                author["name"],
                time.time(),
                content.language,
                tuple(CaseHeader(i, s.case.name, s.case.hidden, s.custom) for i, s in enumerate(specs)),
            )
            self.running[pad.id] = run_id
            room.announce(lambda role: _started_for(started, role.is_owner))
            files_ = request.files or ()
            task = asyncio.get_running_loop().create_task(
                self._test(pad, started, files_, specs, credentials, author, slug), name=f"tests-{run_id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return run_id

    async def _test(
        self,
        pad: PadRecord,
        started: TestRunStarted,
        files_: tuple[SourceFile, ...],
        specs: list[CaseSpec],
        credentials: Credentials,
        author: dict[str, str],
        slug: str | None,
    ) -> None:
        try:
            async with self.pads.using(pad) as room:

                async def told(result: CaseResult) -> None:
                    room.announce(lambda role: TestCaseFinished(started.run_id, result.for_role(role.is_owner)))

                try:
                    language = self.catalogue.resolve(started.language)
                    outcome = await run_cases(self.runner, language, files_, specs, credentials, told, self.parallel)
                except ProtocolError as refused:
                    outcome = Outcome([_refused(i, spec, refused) for i, spec in enumerate(specs)])
                    for result in outcome.results:
                        await told(result)
                finished = TestRunFinished(
                    started.run_id, time.time(), outcome.passed, len(outcome.results), outcome.summary,
                    outcome.compiles, outcome.compile_failure,
                )  # fmt: skip
                record = TestRunRecord(
                    run_id=started.run_id,
                    at=started.at,
                    finished_at=finished.at,
                    author=author,
                    language=started.language,
                    slug=slug,
                    files=[{"name": f.name, "content": f.content} for f in files_],
                    passed=finished.passed,
                    total=finished.total,
                    summary=finished.summary,
                    results=[msgspec.to_builtins(r) for r in outcome.results],
                )
                await self.store.record_test_run(pad.id, record)
                room.announce(lambda _: finished)
        except Exception:
            log.exception("pad %s: test run %s failed", pad.id, started.run_id)
        finally:
            self.running.pop(pad.id, None)

    async def act(self, pad_id: str, key: str, action: AnyPadAction, name: str, credentials: Credentials) -> None:
        """A page's action on its pad's events socket (pads/messages.py), under the same rules as its HTTP twin;
        ProtocolError when refused. `name` is the socket's own, for an action that names nobody."""
        if isinstance(action, RunTestsAction):
            await self.run_tests(pad_id, key, action.name or name, credentials)

    # --- the interview's report -------------------------------------------------------------------------
    async def report(self, pad_id: str, key: str) -> Report:
        """The pad's report (owner only: it holds the notes and the hidden cases)."""
        pad, role = await self.pads.enter(pad_id, key)
        if not role.is_owner:
            raise model.forbidden("only the pad's owner may read its report")
        found = await self.report_of(pad.id)
        if found is None:
            raise model.not_found()
        return found

    async def report_of(self, pad_id: str) -> Report | None:
        """The report of a pad by its id alone (the webhook's delivery, after the pad ended); None once purged."""
        found = await self.pads.record_of(pad_id)
        if found is None:
            return None
        info, content, history = found
        slug = await self.store.attached(pad_id)
        question = await self.store.get(slug) if slug else None
        notes = await self.pads.store.notes(pad_id)
        return build_report(info, content, history, notes, question, await self.store.test_runs(pad_id))

    async def test_history(self, pad_id: str, key: str) -> list[TestRunRecord]:
        """The pad's test runs, oldest first; hidden cases' details for the owner only."""
        pad, role = await self.pads.enter(pad_id, key)
        return [
            replace(record, results=[_for_role(result, role.is_owner) for result in record.results])
            for record in await self.store.test_runs(pad.id)
        ]


def _for_role(stored: dict[str, Any], owner: bool) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(msgspec.convert(stored, CaseResult).for_role(owner))
    return result


def _started_for(started: TestRunStarted, owner: bool) -> TestRunStarted:
    if owner:
        return started
    cases = tuple(
        CaseHeader(c.index, f"hidden {c.index + 1}", True, c.custom) if c.hidden else c for c in started.cases
    )
    return msgspec.structs.replace(started, cases=cases)


def _refused(index: int, spec: CaseSpec, problem: ProtocolError) -> CaseResult:
    return CaseResult(
        index=index,
        name=spec.case.name,
        hidden=spec.case.hidden,
        custom=spec.custom,
        passed=False,
        verdict=None,
        error=problem.message,
    )
