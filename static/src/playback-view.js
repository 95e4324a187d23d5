// The owner's playback panel: a slider over every accepted edit, the code as it stood at that step (read-only),
// and the runs and test runs as markers on the track; opening a marker jumps to it and shows its output (a test
// run's: its summary line and each case's result). playback.js does the
// replaying; this draws it.

import { createEditor } from "./editor.js";
import { describeFailure } from "./pad-api.js";
import { describeStep, describeTestRun, Playback, plainOutput } from "./playback.js";

/**
 * @param {object} options
 * @param {object} options.elements  slider, markers, label, file (a <select>), refresh, editor (container), output
 * @param {() => Promise<object>} options.loadHistory  pad-api.js history
 * @param {() => Promise<object>} options.loadTestRuns  pad-api.js testRuns
 * @param {boolean} options.dark
 */
export function createPlaybackView({ elements, loadHistory, loadTestRuns, dark }) {
  const { slider, markers, label, file, refresh, editor: parent, output } = elements;
  const editor = createEditor(parent, { dark, onChange: () => {} });
  let playback = null;
  let openRun = null;

  function show(index) {
    if (!playback || playback.length === 0) return;
    const pad = playback.padAt(index);
    const names = pad.files.map((f) => f.name);
    const wanted = names.includes(file.value) ? file.value : pad.entry && names.includes(pad.entry) ? pad.entry : names[0];
    file.replaceChildren(
      ...names.map((name) => {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        return option;
      }),
    );
    file.value = wanted ?? "";
    const shown = pad.files.find((f) => f.name === wanted);
    editor.showReadOnly(shown ? shown.content : "", "    ");
    label.textContent = `step ${index + 1} of ${playback.length} · ${describeStep(playback.steps[index], playback.start)}`;
    slider.value = String(index);
    slider.setAttribute("aria-valuetext", label.textContent);
  }

  function showRun(run) {
    openRun = run;
    for (const marker of markers.children) marker.setAttribute("aria-pressed", String(marker.dataset.runId === run?.run_id));
    if (!run) {
      output.hidden = true;
      return;
    }
    if (run.summary !== undefined) {
      output.textContent = describeTestRun(run);
      output.hidden = false;
      return;
    }
    const head = `${run.author?.name ?? ""} ran ${run.language}: ${run.verdict ?? (run.error ? run.error.code : "running")}`;
    const error = run.error ? `\n[${run.error.message}]` : "";
    const cut = run.truncated ? "\n[output cut short]" : "";
    output.textContent = `${head}\n\n${plainOutput(run.output)}${error}${cut}`;
    output.hidden = false;
  }

  function marker(run, testid, text, title) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "playback-marker";
    button.dataset.runId = run.run_id;
    button.dataset.testid = testid;
    button.style.left = `${playback.markerPosition(run) * 100}%`;
    button.textContent = text;
    button.title = title;
    button.addEventListener("click", () => {
      show(run.step);
      showRun(openRun === run ? null : run);
    });
    return button;
  }

  function drawMarkers() {
    markers.replaceChildren(
      ...playback.runs.map((run, i) => {
        const button = marker(run, "playback-marker", "▶", `Run ${i + 1} by ${run.author?.name ?? "?"}: ${run.verdict ?? "no verdict"}`);
        button.dataset.verdict = run.verdict ?? "";
        return button;
      }),
      ...playback.testRuns.map((testRun, i) => {
        const title = `Tests ${i + 1} by ${testRun.author?.name ?? "?"}: ${testRun.summary}`;
        const button = marker(testRun, "playback-test-marker", testRun.summary, title);
        button.classList.add("playback-test-marker");
        // A summary is wider than a run's mark: it hangs towards the middle, so neither end cuts it off.
        button.style.transform = playback.markerPosition(testRun) > 0.5 ? "translateX(-100%)" : "none";
        button.dataset.verdict = testRun.passed === testRun.total ? "ok" : "failed";
        return button;
      }),
    );
  }

  async function load() {
    label.textContent = "loading the history…";
    const [answer, tests] = await Promise.all([loadHistory(), loadTestRuns()]);
    if (!answer.ok) {
      label.textContent = describeFailure(answer);
      return;
    }
    playback = new Playback(answer.body, tests.ok ? tests.body.test_runs : []);
    slider.max = String(Math.max(0, playback.length - 1));
    drawMarkers();
    show(playback.length - 1);
    showRun(null);
  }

  slider.addEventListener("input", () => show(Number(slider.value)));
  file.addEventListener("change", () => show(Number(slider.value)));
  refresh.addEventListener("click", load);

  return {
    load,
    setDark: (value) => editor.setDark(value),
    /** For the browser tests: the code shown and the step. */
    state: () => ({
      step: Number(slider.value),
      length: playback?.length ?? 0,
      code: editor.getCode(),
      testRuns: playback?.testRuns.map((t) => t.summary) ?? [],
    }),
  };
}
