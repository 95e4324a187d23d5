"""The question bank and pads' tests over HTTP: a thin translation onto padbox.questions.service.

Every route passes the door first (tokens, the Origin allowlist), as the rest of the API does. Writing the bank and
reading hidden cases also need an operator token; a pad's own routes go through `pad_endpoint`, so in a cluster they
are served (or forwarded) where the pad's room is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from padbox.core import protocol
from padbox.core.door import Door
from padbox.core.protocol import ProtocolError
from padbox.pads.model import MAX_NAME
from padbox.pads.service import Pads
from padbox.questions.model import SLUG, decode_question
from padbox.questions.service import QuestionService, conflict, operator_only
from padbox.web.answers import (
    PadQuestion,
    QuestionList,
    QuestionSummary,
    ShownQuestion,
    TestRunEntry,
    TestRuns,
    TestsStarted,
    answer,
)
from padbox.web.http_runs import credentials, read_body, refusal_headers
from padbox.web.pads import body_of, only, pad_endpoint, refusal

Endpoint = Callable[[Request], Awaitable[Response]]
EVERY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RunTests(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /api/v1/pads/<id>/tests: who presses Run tests (as the history records it)."""

    name: Annotated[str, Meta(max_length=MAX_NAME)] | None = None


class ChooseQuestion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """PUT /api/v1/pads/<id>/question."""

    slug: Annotated[str, Meta(pattern=SLUG)]


def question_routes(door: Door, pads: Pads, questions: QuestionService) -> list[BaseRoute]:
    """The bank's routes and the pads' question and tests routes."""

    def at_door(handler: Callable[[Request], Awaitable[Response]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                door.authorize(credentials(request))
                return await handler(request)
            except ProtocolError as problem:
                body, status = refusal(problem)
                return answer(body, status, refusal_headers(problem))

        return endpoint

    def operator(request: Request) -> bool:
        return questions.is_operator(request.query_params, request.headers)

    def require_operator(request: Request) -> None:
        if not operator(request):
            raise operator_only()

    async def body(request: Request) -> bytes:
        return await read_body(request, door.max_message_bytes)

    async def search(request: Request) -> Response:
        found = await questions.store.search(request.query_params.get("q", ""), request.query_params.get("tag", ""))
        return answer(QuestionList([QuestionSummary.of(q) for q in found]))

    async def create(request: Request) -> Response:
        require_operator(request)
        question = decode_question(await body(request))
        if await questions.store.get(question.slug) is not None:
            raise conflict(f"a question with the slug {question.slug!r} exists: PUT /api/v1/questions/<slug>")
        stored, _ = await questions.put(question)
        return answer(ShownQuestion.of(stored, True), 201)

    async def read(request: Request) -> Response:
        question = await questions.get(request.path_params["slug"])
        return answer(ShownQuestion.of(question, operator(request)))

    async def replace(request: Request) -> Response:
        require_operator(request)
        question = decode_question(await body(request))
        slug = request.path_params["slug"]
        if question.slug != slug:
            raise protocol.bad_request(f"the body's slug {question.slug!r} is not the path's {slug!r}")
        stored, created = await questions.put(question)
        return answer(ShownQuestion.of(stored, True), 201 if created else 200)

    async def delete(request: Request) -> Response:
        require_operator(request)
        await questions.delete(request.path_params["slug"])
        return Response(status_code=204)

    async def shown(pad_id: str, key: str) -> Response:
        question, owner = await questions.pad_question(pad_id, key)
        return answer(PadQuestion(None if question is None else ShownQuestion.of(question, owner)))

    async def pad_question(request: Request, pad_id: str, key: str) -> Response:
        return await shown(pad_id, key)

    async def choose(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)
        chosen = await body_of(request, door, ChooseQuestion, required=True)
        await questions.set_pad_question(pad_id, key, chosen.slug)
        return await shown(pad_id, key)

    async def run_tests(request: Request, pad_id: str, key: str) -> Response:
        await pads.enter(pad_id, key)
        asked = await body_of(request, door, RunTests)  # may be left out; whitespace alone is not JSON
        run_id = await questions.run_tests(pad_id, key, asked.name, credentials(request))
        return answer(TestsStarted(run_id), 202)

    async def test_history(request: Request, pad_id: str, key: str) -> Response:
        records = await questions.test_history(pad_id, key)
        # The store's record holds plain mappings: converted, and so checked, against the answer's type.
        return answer(TestRuns([msgspec.convert(r, TestRunEntry, from_attributes=True) for r in records]))

    def guarded(handler: Callable[[Request, str, str], Awaitable[Response]]) -> Endpoint:
        return pad_endpoint(door, pads, handler)

    base = "/api/v1/questions"
    pad = "/api/v1/pads/{pad_id}"
    return [
        Route(base, only({"GET": at_door(search), "POST": at_door(create)}), methods=EVERY),
        Route(
            base + "/{slug}",
            only({"GET": at_door(read), "PUT": at_door(replace), "DELETE": at_door(delete)}),
            methods=EVERY,
        ),
        Route(pad + "/question", only({"GET": guarded(pad_question), "PUT": guarded(choose)}), methods=EVERY),
        Route(pad + "/tests", only({"GET": guarded(test_history), "POST": guarded(run_tests)}), methods=EVERY),
    ]
