"""soak.png: the soak's samples over time, one panel per quantity, the two flatness windows shaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the plot only ever goes to a file

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen before pyplot is imported

from .soak_record import BUSY, OK, QUEUED, Sample, windows  # noqa: E402


def plot(samples: Sequence[Sample], duration_s: float, path: Path) -> None:
    minutes = [s.t_s / 60 for s in samples]
    figure, axes = plt.subplots(6, 1, figsize=(10, 15), sharex=True)
    panels: list[tuple[str, list[tuple[str, list[float | None]]]]] = [
        ("server RSS (MB)", [("RSS", [s.rss_mb for s in samples])]),
        ("open file descriptors", [("fds", [float(s.fds) for s in samples])]),
        ("asyncio tasks", [("tasks", [float(s.tasks) for s in samples])]),
        ("live containers", [("containers", [float(s.containers) for s in samples])]),
        ("first output (ms)", [("p50", [s.p50_ms for s in samples]), ("p99", [s.p99_ms for s in samples])]),
        (
            "per interval",
            [
                ("ok", [float(s.counts.get(OK, 0)) for s in samples]),
                ("queued", [float(s.counts.get(QUEUED, 0)) for s in samples]),
                ("busy", [float(s.counts.get(BUSY, 0)) for s in samples]),
                ("failures", [float(s.failures) for s in samples]),
                ("load average", [s.load1 for s in samples]),
            ],
        ),
    ]
    warm, end = windows(duration_s)
    for ax, (title, series) in zip(axes, panels, strict=True):
        for label, values in series:
            points = [(m, v) for m, v in zip(minutes, values, strict=True) if v is not None]
            ax.plot([m for m, _ in points], [v for _, v in points], label=label, linewidth=1)
        for start, stop in (warm, end):
            ax.axvspan(start / 60, stop / 60, color="grey", alpha=0.15, linewidth=0)
        ax.set_ylabel(title)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend(loc="upper left", fontsize="small", ncols=len(series))
    axes[-1].set_xlabel("minutes (shaded: the windows compared for flatness)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
