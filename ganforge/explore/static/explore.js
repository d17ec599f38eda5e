// The page: a websocket to the game, the controls, and what each message redraws.
"use strict";

const $ = id => document.getElementById(id);
const ui = {
  ws: null, state: null, scene: null, frame: null, frames: 0,
  curves: { step: [], loss_d: [], loss_g: [], jsd: [], kl: [], modes: [], hq: [] },
  drawing: false, drawn: [],
};
window.explore = ui;  // for the browser test and the curious

function send(message) {
  if (ui.ws && ui.ws.readyState === WebSocket.OPEN) ui.ws.send(JSON.stringify(message));
}

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

// -- controls ---------------------------------------------------------------------------------
function buildControls(controls, settings) {
  const form = $("controls");
  if (form.dataset.built) return;
  form.dataset.built = "1";
  for (const [name, c] of Object.entries(controls)) {
    const label = document.createElement("label");
    label.title = c.help;
    label.append(name.replace(/_/g, " "));
    let input;
    if (c.kind === "choice") {
      input = document.createElement("select");
      for (const choice of c.choices) input.append(new Option(choice, choice));
    } else {
      input = document.createElement("input");
      input.type = c.kind === "bool" ? "checkbox" : "text";
    }
    input.id = "ctl-" + name;
    input.name = name;
    input.addEventListener("change", () => {
      let value;
      if (c.kind === "bool") value = input.checked;
      else if (c.kind === "choice") value = input.value;
      else value = input.value.trim() !== "" && Number.isFinite(Number(input.value))
        ? Number(input.value) : input.value;  // the server says what is wrong with text
      if (name === "data" && value === "drawn") {
        if (ui.drawn.length < 3) { showError("draw some points first"); showSettings(); return; }
        send({ type: "draw", points: ui.drawn });
        return;
      }
      send({ type: "set", values: { [name]: value } });
    });
    label.append(input);
    form.append(label);
  }
  form.addEventListener("submit", e => e.preventDefault());
}

function showSettings() {
  if (!ui.state) return;
  for (const [name, value] of Object.entries(ui.state.settings)) {
    const input = $("ctl-" + name);
    if (!input || input === document.activeElement) continue;
    if (input.type === "checkbox") input.checked = value; else input.value = value;
  }
}

// -- messages ---------------------------------------------------------------------------------
function onState(state) {
  ui.state = state;
  buildControls(state.controls, state.settings);
  showSettings();
  $("play").textContent = state.playing ? "❚❚ pause" : "▶ play";
  $("slow").checked = state.slow;
  $("save").disabled = !state.can_save;
  if (!state.can_save) $("saved").textContent = "start with --run DIR to save runs";
  if (state.history) {
    resetCurves();
    for (const row of state.history) addRow(row);
    drawAllCurves();
  }
}

function onScene(scene) {
  ui.scene = scene;
  resetCurves();
  const items = scene.dim === 2
    ? [["real", COLORS.real], ["G(z)", COLORS.fake], ["EMA G(z)", COLORS.ema],
       ["-grad of G's loss", COLORS.arrow], ["D: real", "#a5d6a7"], ["D: fake", "#ce93d8"]]
    : [["p_data", COLORS.pData], ["p_g", COLORS.pG], ["D", COLORS.d], ["D*", COLORS.dStar]];
  $("legend").innerHTML = items.map(([t, c]) =>
    `<span class="swatch" style="background:${c}"></span>${t}`).join("");
}

function resetCurves() {
  for (const k of Object.keys(ui.curves)) ui.curves[k] = [];
}

function addRow(row) {
  const c = ui.curves, n = c.step.length;
  if (n && c.step[n - 1] === row.step) {  // the same step again (paused redraws): update it
    for (const k of Object.keys(c)) if (k !== "step" && row[k] !== undefined) c[k][n - 1] = row[k];
    return;
  }
  const last = k => (n ? c[k][n - 1] : null);
  c.step.push(row.step);
  for (const k of ["loss_d", "loss_g"]) c[k].push(row[k] === undefined ? last(k) : row[k]);
  for (const k of ["jsd", "kl", "modes", "hq"]) c[k].push(row[k] === undefined ? last(k) : row[k]);
  if (c.step.length > 4000) for (const k of Object.keys(c)) c[k] = c[k].filter((_, i) => i % 2 === 0);
}

function drawAllCurves() {
  const c = ui.curves;
  drawCurves($("loss-curve"), "losses", c.step,
    [{ name: "D", color: COLORS.lossD, ys: c.loss_d }, { name: "G", color: COLORS.lossG, ys: c.loss_g }]);
  drawCurves($("div-curve"), "grid JSD (nats)", c.step,
    [{ name: "JSD", color: COLORS.jsd, ys: c.jsd }], [0, Math.log(2)]);
  const k = ui.scene && ui.scene.modes_total ? ui.scene.modes_total : 0;
  drawCurves($("mode-curve"), k ? `share of the ${k} modes captured; HQ share` : "(no mode metrics for these data)",
    c.step, k ? [{ name: "modes", color: COLORS.modes, ys: c.modes.map(v => v === null ? null : v / k) },
                 { name: "HQ", color: COLORS.hq, ys: c.hq }] : [], [0, 1]);
  const n = c.step.length, fmt = v => v === null || v === undefined ? "–" : Number(v).toPrecision(4);
  $("numbers").textContent = n ? `JSD ${fmt(c.jsd[n - 1])}  KL(p_g||p_data) ${c.kl[n - 1] === null ? "∞" : fmt(c.kl[n - 1])}` +
    `  modes ${fmt(c.modes[n - 1])}  HQ ${fmt(c.hq[n - 1])}  curve points ${n}` : "";
}

// a frame's arrays come as base64 of little-endian float32 (NaN where not finite)
function decodeArrays(frame) {
  for (const [name, text] of Object.entries(frame.arrays || {})) {
    const bin = atob(text), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    frame[name] = Array.from(new Float32Array(bytes.buffer));
  }
  delete frame.arrays;
}

function onFrame(frame) {
  decodeArrays(frame);
  ui.frame = frame;
  ui.frames += 1;
  $("step").textContent = `step ${frame.step} (D updates ${frame.d_updates})`;
  addRow({ step: frame.step, loss_d: frame.loss_d, loss_g: frame.loss_g, ...(frame.metrics || {}) });
  redraw();
  drawAllCurves();
}

function redraw() {
  const canvas = $("scene");
  if (ui.drawing) { drawDrawing(canvas); return; }
  if (!ui.scene || !ui.frame) return;
  if (ui.scene.dim === 2) drawScene2d(canvas, ui.scene, ui.frame);
  else drawScene1d(canvas, ui.scene, ui.frame, ui.scene.probabilistic);
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ui.ws = ws;
  ws.onopen = () => { $("status").textContent = "connected"; };
  ws.onclose = () => { $("status").textContent = "disconnected: reconnecting…"; setTimeout(connect, 1000); };
  ws.onmessage = event => {
    const m = JSON.parse(event.data);
    if (m.type === "state") onState(m);
    else if (m.type === "scene") onScene(m);
    else if (m.type === "frame") onFrame(m);
    else if (m.type === "error") { showError(m.message); showSettings(); }
    else if (m.type === "saved") $("saved").textContent = `saved step ${m.step} to ${m.path}`;
  };
}

// -- drawing a distribution --------------------------------------------------------------------
const DRAW_VIEW = [-2, 2];
function drawDrawing(canvas) {
  const ctx = canvas.getContext("2d"), m = mapper(canvas, DRAW_VIEW);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#555"; ctx.fillText("drag to draw p_data; then 'train on the drawing'", 8, 14);
  dots(ctx, m, ui.drawn.flat(), COLORS.real, 2.5);
}

function setupDrawing() {
  const canvas = $("scene");
  let down = false;
  const add = e => {
    const r = canvas.getBoundingClientRect();
    const [x, y] = mapper(canvas, DRAW_VIEW).inv((e.clientX - r.left) * canvas.width / r.width,
                                                  (e.clientY - r.top) * canvas.height / r.height);
    if (Math.abs(x) <= 2 && Math.abs(y) <= 2 && ui.drawn.length < 5000) ui.drawn.push([x, y]);
    drawDrawing(canvas);
  };
  canvas.addEventListener("mousedown", e => { if (ui.drawing) { down = true; add(e); } });
  canvas.addEventListener("mousemove", e => { if (ui.drawing && down) add(e); });
  window.addEventListener("mouseup", () => { down = false; });
  $("draw-mode").addEventListener("click", () => {
    ui.drawing = !ui.drawing;
    canvas.classList.toggle("drawing", ui.drawing);
    $("draw-mode").textContent = ui.drawing ? "stop drawing" : "draw on the canvas";
    $("draw-use").disabled = $("draw-clear").disabled = !ui.drawing;
    redraw();
  });
  $("draw-clear").addEventListener("click", () => { ui.drawn = []; redraw(); });
  $("draw-use").addEventListener("click", () => {
    if (ui.drawn.length < 3) { showError("draw at least 3 points"); return; }
    ui.drawing = false;
    canvas.classList.remove("drawing");
    $("draw-mode").textContent = "draw on the canvas";
    $("draw-use").disabled = $("draw-clear").disabled = true;
    send({ type: "draw", points: ui.drawn });
  });
}

function setupButtons() {
  $("play").addEventListener("click", () => send({ type: ui.state && ui.state.playing ? "pause" : "play" }));
  $("step-both").addEventListener("click", () => send({ type: "step" }));
  $("step-d").addEventListener("click", () => send({ type: "step_d" }));
  $("step-g").addEventListener("click", () => send({ type: "step_g" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("slow").addEventListener("change", e => send({ type: "slow", on: e.target.checked }));
  $("save").addEventListener("click", () => send({ type: "save", name: $("run-name").value }));
}

setupButtons();
setupDrawing();
connect();
