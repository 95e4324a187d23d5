"""What the web app serves: the node's parts a transport may use, each handed only to the routes that use it.

The Runner for runs (`start`, `join`, `execute`), the Door for everything else a transport asks (access,
message limits, the node's id, draining, languages), the pads, their language help, the question bank, readiness
and metrics.
Nothing here reaches into another part's attributes: what a route needs is a field of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from padbox.core.door import Door
from padbox.core.limits import LimitPolicy
from padbox.core.runner import Readiness, Runner
from padbox.lsp.manager import LanguageHelp
from padbox.pads.service import Pads
from padbox.questions.service import QuestionService
from padbox.telemetry.metrics import Metrics


@dataclass(frozen=True)
class Served:
    runner: Runner
    door: Door
    policy: LimitPolicy  # the OpenAPI document's bounds
    metrics: Metrics
    image: str  # named in readiness reports
    readiness: Callable[[], Awaitable[Readiness]]
    pads: Pads
    questions: QuestionService
    help: LanguageHelp  # the pads' language help
