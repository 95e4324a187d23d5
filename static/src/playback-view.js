// The owner's playback panel: a slider over every accepted edit, the code as it stood at that step (read-only),
// and the runs and test runs as markers on the track; opening a marker jumps to it and shows its output (a test
// run's: its summary line and each case's result). By time: the terminal beside the code as it was at that moment,
// a row of moments (input typed into a run, pastes, focus changes, the owner's pinned notes), stepping from moment
// to moment, and playing at 1x, 4x or 16x. playback.js does the replaying; this draws it.

import { createEditor } from "./editor.js";
import { describeFailure } from "./pad-api.js";
import { describeStep, describeTestRun, Playback, plainOutput, neighbour, SPEEDS, timePosition } from "./playback.js";

const MOMENT_ICONS = Object.freeze({
  paste: "paste",
  focus_lost: "⤴",
  hidden: "⤴",
  focus_regained: "⤵",
  visible: "⤵",
  note: "note",
  input: "⌨",
});

/**
 * @param {object} options
 * @param {object} options.elements  slider, markers, label, file (a <select>), refresh, editor (container), output;
 *   and for time: moments (a row), terminal (a <pre>), typed, previous, play, next, speed (a <select>), clock
 * @param {() => Promise<object>} options.loadHistory  pad-api.js history
 * @param {() => Promise<object>} options.loadTestRuns  pad-api.js testRuns
 * @param {boolean} options.dark
 */
export function createPlaybackView({ elements, loadHistory, loadTestRuns, dark }) {
  const { slider, markers, label, file, refresh, editor: parent, output } = elements;
  const { moments: momentsRow, terminal, typed, previous, play, next, speed, clock } = elements;
  const editor = createEditor(parent, { dark, onChange: () => {} });
  let playback = null;
  let openRun = null;
  let time = 0; // the moment shown, seconds since the epoch
  let shownStep = -1;
  let playing = null; // {last: performance.now() of the last frame, frame: its request id}

  for (const value of SPEEDS) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = `${value}×`;
    speed.append(option);
  }

  function show(index) {
    if (!playback || playback.length === 0) return;
    shownStep = index;
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

  /** Show the pad at time `at`: the code of the last edit by then, the terminal as it was, the clock. */
  function showTime(at) {
    if (!playback || playback.length === 0) return;
    time = Math.max(playback.start, Math.min(at, playback.timeEnd));
    const step = playback.stepAtTime(time);
    if (step !== shownStep) show(step);
    const screen = playback.terminalAt(time);
    const text = screen.run ? screen.text : "(no run yet)";
    if (terminal.textContent !== text) terminal.textContent = text;
    typed.textContent = screen.typed ? `typed so far: ${JSON.stringify(screen.typed)}` : "";
    clock.textContent = `+${Math.max(0, time - playback.start).toFixed(1)} s`;
    for (const button of momentsRow.children) button.dataset.past = String(Number(button.dataset.at) <= time + 1e-6);
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
      showTime(run.at);
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

  /** The row of moments by time: typed input, pastes, focus changes and notes, each a button to go there. */
  function drawMoments() {
    const shown = playback.moments.filter((m) => MOMENT_ICONS[m.kind]);
    momentsRow.replaceChildren(
      ...shown.map((moment) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "playback-moment";
        button.dataset.testid = "playback-moment";
        button.dataset.kind = moment.kind;
        button.dataset.at = String(moment.at);
        button.style.left = `${timePosition(moment.at, playback.start, playback.timeEnd) * 100}%`;
        button.textContent = MOMENT_ICONS[moment.kind];
        const when = `+${(moment.at - playback.start).toFixed(1)} s`;
        button.title = `${when} · ${moment.label}`;
        button.setAttribute("aria-label", button.title);
        button.addEventListener("click", () => {
          pause();
          showTime(moment.at);
        });
        return button;
      }),
    );
  }

  function step(direction) {
    if (!playback) return;
    pause();
    const moment = neighbour(playback.moments, time, direction);
    if (moment) showTime(moment.at);
    else showTime(direction > 0 ? playback.timeEnd : playback.start);
  }

  function frame(now) {
    if (!playing) return;
    const elapsed = (now - playing.last) / 1000;
    playing.last = now;
    showTime(time + elapsed * Number(speed.value || 1));
    if (time >= playback.timeEnd) {
      pause();
      return;
    }
    playing.frame = requestAnimationFrame(frame);
  }

  function start() {
    if (!playback || playing) return;
    if (time >= playback.timeEnd) showTime(playback.start);
    playing = { last: performance.now(), frame: 0 };
    playing.frame = requestAnimationFrame(frame);
    play.textContent = "⏸ Pause";
    play.setAttribute("aria-pressed", "true");
  }

  function pause() {
    if (playing) cancelAnimationFrame(playing.frame);
    playing = null;
    play.textContent = "▶ Play";
    play.setAttribute("aria-pressed", "false");
  }

  async function load() {
    pause();
    label.textContent = "loading the history…";
    const [answer, tests] = await Promise.all([loadHistory(), loadTestRuns()]);
    if (!answer.ok) {
      label.textContent = describeFailure(answer);
      return;
    }
    playback = new Playback(answer.body, tests.ok ? tests.body.test_runs : []);
    slider.max = String(Math.max(0, playback.length - 1));
    shownStep = -1;
    drawMarkers();
    drawMoments();
    show(playback.length - 1);
    showTime(playback.timeEnd);
    showRun(null);
  }

  slider.addEventListener("input", () => {
    pause();
    const index = Number(slider.value);
    show(index);
    showTime(playback.steps[index]?.at ?? playback.start);
  });
  file.addEventListener("change", () => show(Number(slider.value)));
  refresh.addEventListener("click", load);
  previous.addEventListener("click", () => step(-1));
  next.addEventListener("click", () => step(1));
  play.addEventListener("click", () => (playing ? pause() : start()));

  return {
    load,
    setDark: (value) => editor.setDark(value),
    /** For the browser tests: the code shown, the step, the moments and the terminal at the time shown. */
    state: () => ({
      step: Number(slider.value),
      length: playback?.length ?? 0,
      code: editor.getCode(),
      testRuns: playback?.testRuns.map((t) => t.summary) ?? [],
      time,
      playing: Boolean(playing),
      moments: playback?.moments.map((m) => ({ at: m.at, kind: m.kind, label: m.label })) ?? [],
      terminal: terminal.textContent,
      typed: typed.textContent,
    }),
  };
}
