// The owner's one-screen report of the interview (GET /api/v1/pads/<id>/report): the pad, the question and its test
// runs, pastes and focus losses with their times, the runs (with what was typed into them), the notes, and the final
// code; Print prints it alone (style.css, @media print). `reportFacts` is pure (test/pad-report.test.js).

import { describeFailure } from "./pad-api.js";

const clockOf = (at, start) => `+${formatDuration(Math.max(0, at - start))}`;

/** Seconds as "4 min 05 s" (or "12.3 s" under a minute). */
export function formatDuration(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = String(Math.round(seconds % 60)).padStart(2, "0");
  return minutes < 60 ? `${minutes} min ${rest} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The report's facts as [label, text] rows, in the order the summary shows them. */
export function reportFacts(report) {
  const start = report.pad.created_at;
  const last = report.test_runs[report.test_runs.length - 1];
  const times = (list) => (list.length ? ` (at ${list.map((at) => clockOf(at, start)).join(", ")})` : "");
  return [
    ["Pad", `${report.pad.title} · ${report.pad.language}`],
    ["Duration", `${formatDuration(report.pad.duration_s)}${report.pad.ended_at ? "" : " (not ended)"}`],
    ["Question", report.question ? `${report.question.title} (${report.question.difficulty})` : "none"],
    ["Tests", last ? `${last.summary} on the last of ${report.test_runs.length} test run(s)` : "never run"],
    ["Runs", `${report.runs.length}${report.runs.length ? `: ${report.runs.map((r) => r.verdict ?? "-").join(", ")}` : ""}`],
    [
      "Pastes",
      `${report.pastes.count}${report.pastes.count ? `, ${report.pastes.characters} characters` : ""}${times(report.pastes.items.map((p) => p.at))}`,
    ],
    ["Focus lost", `${report.focus_lost.count}${times(report.focus_lost.at)}`],
  ];
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/**
 * @param {object} options
 * @param {object} options.elements  panel, body, refresh, print
 * @param {() => Promise<object>} options.loadReport  pad-api.js report
 */
export function createReportView({ elements, loadReport }) {
  const { body, refresh, print } = elements;
  let shown = null;

  function draw(report) {
    shown = report;
    const start = report.pad.created_at;
    const facts = element("dl");
    for (const [label, text] of reportFacts(report)) {
      facts.append(element("dt", label), element("dd", text, { "data-fact": label }));
    }
    const left = element("div");
    const right = element("div");
    if (report.pinned_notes.length || report.notes) {
      left.append(element("h3", "Notes"));
      if (report.notes) left.append(element("pre", report.notes));
      const list = element("ul");
      for (const note of report.pinned_notes) list.append(element("li", `${clockOf(note.at, start)} ${note.text}`));
      left.append(list);
    }
    for (const [index, run] of report.runs.entries()) {
      left.append(element("h3", `Run ${index + 1} by ${run.by} at ${clockOf(run.at, start)}: ${run.verdict ?? "-"}`));
      if (run.input) left.append(element("div", `typed: ${JSON.stringify(run.input)}`));
    }
    const entry = report.code.files.find((f) => f.name === report.code.entry) ?? report.code.files[0];
    right.append(element("h3", `Final code${entry ? `: ${entry.name}` : ""}`), element("pre", entry ? entry.content : ""));
    const columns = element("div", undefined, { class: "report-columns" });
    columns.append(left, right);
    body.replaceChildren(facts, columns);
  }

  async function load() {
    body.textContent = "loading the report…";
    const answer = await loadReport();
    if (!answer.ok) {
      body.textContent = describeFailure(answer);
      return;
    }
    draw(answer.body);
  }

  refresh.addEventListener("click", load);
  print.addEventListener("click", () => {
    document.body.dataset.printing = "report";
    window.addEventListener("afterprint", () => delete document.body.dataset.printing, { once: true });
    window.print();
  });

  return { load, state: () => shown };
}
