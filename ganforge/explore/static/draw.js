// Drawing on plain canvases: the 2-D game, the 1-D Figure 1, and the curves.
"use strict";

const COLORS = { real: "#2e7d32", fake: "#7b1fa2", ema: "#90a4ae", manifold: "rgba(123,31,162,0.35)",
                 arrow: "#d81b60", d: "#1565c0", dStar: "#000", pData: "#2e7d32", pG: "#7b1fa2",
                 lossD: "#1565c0", lossG: "#7b1fa2", jsd: "#e65100", kl: "#6d4c41",
                 modes: "#2e7d32", hq: "#00838f" };

// data coordinates -> canvas pixels for a square view [lo, hi]^2
function mapper(canvas, view) {
  const [lo, hi] = view, w = canvas.width, h = canvas.height;
  return { x: v => (v - lo) / (hi - lo) * w, y: v => h - (v - lo) / (hi - lo) * h,
           inv: (px, py) => [lo + px / w * (hi - lo), lo + (h - py) / h * (hi - lo)] };
}

// D's verdict: purple (fake, 0) through white to green (real, 1)
function heatColor(t) {
  t = Math.min(1, Math.max(0, t));
  const fake = [206, 147, 216], real = [165, 214, 167], mid = [255, 255, 255];
  const [a, b, s] = t < 0.5 ? [fake, mid, t * 2] : [mid, real, (t - 0.5) * 2];
  return a.map((c, i) => Math.round(c + (b[i] - c) * s));
}

function dots(ctx, m, flat, color, r) {
  ctx.fillStyle = color;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] === null || flat[i + 1] === null) continue;
    ctx.beginPath(); ctx.arc(m.x(flat[i]), m.y(flat[i + 1]), r, 0, 2 * Math.PI); ctx.fill();
  }
}

function drawHeat(ctx, canvas, frame, n) {
  const [lo, hi] = frame.heat_range, img = new ImageData(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const v = frame.heat[i * n + j], t = v === null ? 0.5 : (v - lo) / ((hi - lo) || 1);
    const [r, g, b] = heatColor(t), k = ((n - 1 - i) * n + j) * 4;  // row i is y ascending
    img.data[k] = r; img.data[k + 1] = g; img.data[k + 2] = b; img.data[k + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawManifold(ctx, m, flat, n) {
  ctx.strokeStyle = COLORS.manifold; ctx.lineWidth = 1;
  const at = (a, b) => [flat[2 * (a * n + b)], flat[2 * (a * n + b) + 1]];
  for (let a = 0; a < n; a++) for (const dir of [0, 1]) {
    ctx.beginPath();
    for (let b = 0; b < n; b++) {
      const [x, y] = dir ? at(a, b) : at(b, a);
      if (b === 0) ctx.moveTo(m.x(x), m.y(y)); else ctx.lineTo(m.x(x), m.y(y));
    }
    ctx.stroke();
  }
}

function drawArrows(ctx, pts, arrows, toPx, maxLen) {
  let longest = 1e-12;
  for (const v of arrows) if (v !== null) longest = Math.max(longest, Math.abs(v));
  ctx.strokeStyle = COLORS.arrow; ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 0; i < pts.length; i++) {
    const [x0, y0, dx, dy] = toPx(i, maxLen / longest);
    if ([x0, y0, dx, dy].some(v => !Number.isFinite(v))) continue;
    ctx.moveTo(x0, y0); ctx.lineTo(x0 + dx, y0 + dy);
  }
  ctx.stroke();
}

function drawScene2d(canvas, scene, frame) {
  const ctx = canvas.getContext("2d"), m = mapper(canvas, scene.view);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (frame.heat) drawHeat(ctx, canvas, frame, scene.heat_size);
  if (frame.manifold) drawManifold(ctx, m, frame.manifold, scene.manifold_size);
  dots(ctx, m, scene.real, COLORS.real, 2);
  if (frame.ema) dots(ctx, m, frame.ema, COLORS.ema, 1.5);
  dots(ctx, m, frame.fake, COLORS.fake, 2);
  const f = frame.fake, g = frame.arrows;
  drawArrows(ctx, new Array(f.length / 2), g, (i, s) =>
    [m.x(f[2 * i]), m.y(f[2 * i + 1]), g[2 * i] * s, -g[2 * i + 1] * s], 14);
}

// the paper's Figure 1: densities (scaled to the plot), D and D* on their own scale
function drawScene1d(canvas, scene, frame, probabilistic) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const [lo, hi] = scene.view, px = x => (x - lo) / (hi - lo) * w;
  ctx.clearRect(0, 0, w, h);
  const top = 20, base = h - 60;
  const finite = a => (a || []).filter(v => v !== null && Number.isFinite(v));
  const dens = finite(scene.p_data).concat(finite(frame.p_g));
  const dMax = Math.max(...dens, 1e-9);
  const dVals = finite(frame.d).concat(finite(frame.d_star));
  let [dLo, dHi] = probabilistic ? [0, 1] : [Math.min(...dVals), Math.max(...dVals)];
  if (!(dHi > dLo)) { dLo -= 1; dHi += 1; }
  const curve = (ys, scale, color, dash) => {
    if (!ys) return;
    ctx.strokeStyle = color; ctx.setLineDash(dash || []); ctx.lineWidth = 2; ctx.beginPath();
    let on = false;
    ys.forEach((y, i) => {
      if (y === null || !Number.isFinite(y)) { on = false; return; }
      const X = px(scene.x[i]), Y = base - scale(y) * (base - top);
      if (on) ctx.lineTo(X, Y); else ctx.moveTo(X, Y);
      on = true;
    });
    ctx.stroke(); ctx.setLineDash([]);
  };
  curve(scene.p_data, y => y / dMax, COLORS.pData);
  curve(frame.p_g, y => y / dMax, COLORS.pG);
  curve(frame.d, y => (y - dLo) / (dHi - dLo), COLORS.d, [6, 4]);
  curve(frame.d_star, y => (y - dLo) / (dHi - dLo), COLORS.dStar, [2, 3]);
  ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(0, base); ctx.lineTo(w, base); ctx.stroke();
  const ticks = (xs, y0, color) => {
    ctx.strokeStyle = color; ctx.lineWidth = 1; ctx.beginPath();
    for (const x of xs) if (x !== null) { ctx.moveTo(px(x), y0); ctx.lineTo(px(x), y0 + 10); }
    ctx.stroke();
  };
  ticks(scene.real, base + 8, COLORS.real);
  ticks(frame.fake, base + 30, COLORS.fake);
  drawArrows(ctx, frame.fake, frame.arrows, (i, s) =>
    [px(frame.fake[i]), base + 45, frame.arrows[i] * s, 0], 14);
  ctx.fillStyle = "#555";
  ctx.fillText(`D scale [${dLo.toFixed(2)}, ${dHi.toFixed(2)}]`, 6, 12);
  ctx.fillText(`${lo}`, 2, h - 2); ctx.fillText(`${hi}`, w - 20, h - 2);
}

// curves: series = [{name, color, ys}] against the shared xs (steps)
function drawCurves(canvas, title, xs, series, fixedRange) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 24;
  ctx.clearRect(0, 0, w, h);
  const vals = series.flatMap(s => s.ys.filter(v => v !== null && v !== undefined && Number.isFinite(v)));
  let [lo, hi] = fixedRange || [Math.min(...vals), Math.max(...vals)];
  if (!vals.length && !fixedRange) [lo, hi] = [0, 1];
  if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
  const x0 = xs.length ? xs[0] : 0, x1 = xs.length ? xs[xs.length - 1] : 1;
  const X = x => pad + (x - x0) / ((x1 - x0) || 1) * (w - pad - 4);
  const Y = y => h - pad + 8 - (y - lo) / (hi - lo) * (h - pad - 8 - 14);
  ctx.fillStyle = "#333"; ctx.fillText(title, pad, 11);
  ctx.fillStyle = "#777";
  ctx.fillText(hi.toPrecision(3), 0, 22); ctx.fillText(lo.toPrecision(3), 0, h - pad + 8);
  ctx.fillText(`step ${x1}`, w - 70, h - 4);
  let legend = pad + ctx.measureText(title).width + 10;
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.5; ctx.beginPath();
    let on = false;
    s.ys.forEach((y, i) => {
      if (y === null || y === undefined || !Number.isFinite(y)) { on = false; return; }
      if (on) ctx.lineTo(X(xs[i]), Y(y)); else ctx.moveTo(X(xs[i]), Y(y));
      on = true;
    });
    ctx.stroke();
    ctx.fillStyle = s.color; ctx.fillText(s.name, legend, 11);
    legend += ctx.measureText(s.name).width + 10;
  }
}
