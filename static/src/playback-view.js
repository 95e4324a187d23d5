// The owner's playback panel: a slider over every accepted edit, the code as it stood at that step (read-only),
// and the runs as markers on the track; opening a marker jumps to it and shows its output. playback.js does the
// replaying; this draws it.

import { createEditor } from "./editor.js";
import { describeFailure } from "./pad-api.js";
import { describeStep, Playback, plainOutput } from "./playback.js";

/**
 * @param {object} options
 * @param {object} options.elements  slider, markers, label, file (a <select>), refresh, editor (container), output
 * @param {() => Promise<object>} options.loadHistory  pad-api.js history
 * @param {boolean} options.dark
 */
export function createPlaybackView({ elements, loadHistory, dark }) {
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
    const head = `${run.author?.name ?? ""} ran ${run.language}: ${run.verdict ?? (run.error ? run.error.code : "running")}`;
    const error = run.error ? `\n[${run.error.message}]` : "";
    const cut = run.truncated ? "\n[output cut short]" : "";
    output.textContent = `${head}\n\n${plainOutput(run.output)}${error}${cut}`;
    output.hidden = false;
  }

  function drawMarkers() {
    markers.replaceChildren(
      ...playback.runs.map((run, i) => {
        const marker = document.createElement("button");
        marker.type = "button";
        marker.className = "playback-marker";
        marker.dataset.runId = run.run_id;
        marker.dataset.testid = "playback-marker";
        marker.dataset.verdict = run.verdict ?? "";
        marker.style.left = `${playback.markerPosition(run) * 100}%`;
        marker.textContent = "▶";
        marker.title = `Run ${i + 1} by ${run.author?.name ?? "?"}: ${run.verdict ?? "no verdict"}`;
        marker.addEventListener("click", () => {
          show(run.step);
          showRun(openRun === run ? null : run);
        });
        return marker;
      }),
    );
  }

  async function load() {
    label.textContent = "loading the history…";
    const answer = await loadHistory();
    if (!answer.ok) {
      label.textContent = describeFailure(answer);
      return;
    }
    playback = new Playback(answer.body);
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
    state: () => ({ step: Number(slider.value), length: playback?.length ?? 0, code: editor.getCode() }),
  };
}
