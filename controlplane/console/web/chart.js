// A plain SVG line chart of one time series (ts.lua's answer): points at
// start + i*step, labelled axes, a <title> and a hidden table for screen
// readers. No library: the appliance has no internet and no build step.
const NS = 'http://www.w3.org/2000/svg';
const W = 600, H = 180, L = 56, B = 20, T = 8, R = 8;

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

export function fmtTime(epoch) {
  if (!Number.isFinite(Number(epoch)) || !epoch) return '';
  return new Date(epoch * 1000).toISOString().replace('T', ' ').slice(0, 16);
}

// lineChart returns a <figure> for series data (numbers) at start+i*step.
export function lineChart(caption, start, step, data, fmt) {
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.appendChild(cap);
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': caption }, fig);
  el('title', {}, svg).textContent = caption;
  const n = data.length;
  const max = Math.max(1, ...data);
  const x = i => L + (n <= 1 ? 0 : (i * (W - L - R)) / (n - 1));
  const y = v => H - B - (v / max) * (H - B - T);
  el('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }, svg);
  el('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }, svg);
  el('text', { x: 2, y: T + 8 }, svg).textContent = fmt(max);
  el('text', { x: 2, y: H - B }, svg).textContent = '0';
  if (n > 0) {
    el('text', { x: L, y: H - 4 }, svg).textContent = fmtTime(start);
    el('text', { x: W - R, y: H - 4, 'text-anchor': 'end' }, svg).textContent = fmtTime(start + step * (n - 1));
    const pts = data.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    el('path', { class: 'area', d: `M${x(0)},${H - B}L${pts.join('L')}L${x(n - 1)},${H - B}Z` }, svg);
    el('polyline', { class: 'line', points: pts.join(' '), 'data-points': String(n) }, svg);
  }
  fig.dataset.points = String(data.filter(v => v > 0).length);
  return fig;
}

// barChart returns a <figure> with a bar per value, in the given order.
export function barChart(caption, data) {
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.appendChild(cap);
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': caption }, fig);
  el('title', {}, svg).textContent = caption;
  const max = Math.max(1, ...data);
  const bw = (W - L - R) / Math.max(1, data.length);
  el('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }, svg);
  el('text', { x: 2, y: T + 8 }, svg).textContent = String(max);
  data.forEach((v, i) => {
    const hgt = (v / max) * (H - B - T);
    el('rect', { class: 'area', x: (L + i * bw + 1).toFixed(1), y: (H - B - hgt).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: hgt.toFixed(1) }, svg);
  });
  fig.dataset.points = String(data.filter(v => v > 0).length);
  return fig;
}
