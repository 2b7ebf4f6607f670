// Canary against control over time, for the running rollout or any past deployment: requests per
// second, error rate with the canary's confidence band, p50 and p99 latency, with the steps and the
// verdict marked on the time axis. Drawn with uPlot, served by the controller itself (/ui/uplot.js):
// no external request. One panel, one module: it only needs the page's API helper.
import uPlot from './uplot.js';

const COLORS = { canary: '#c2410c', control: '#2563eb', band: 'rgba(194, 65, 12, 0.15)', step: '#6b7280', fail: '#b91c1c', ok: '#15803d' };

/** Vertical lines with a label at each step start and verdict mark. */
function marksPlugin(marks) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
          for (const m of marks) {
            const x = Math.round(u.valToPos(m.t / 1000, 'x', true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = m.color;
            ctx.fillStyle = m.color;
            ctx.lineWidth = devicePixelRatio;
            ctx.setLineDash(m.dash ? [4 * devicePixelRatio, 3 * devicePixelRatio] : []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
            ctx.fillText(m.label, x + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Per-second request rates from cumulative counts. */
function rates(points, side) {
  return points.map((p, i) => {
    if (i === 0) return null;
    const dt = (p.t - points[i - 1].t) / 1000;
    return dt > 0 ? Math.max(0, (p[side].requests - points[i - 1][side].requests) / dt) : null;
  });
}

const pctOf = (x) => (x == null ? null : x * 100);

function chart(el, title, data, series, marks, opts = {}) {
  const wrap = document.createElement('figure');
  wrap.className = 'chart';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  wrap.append(cap);
  el.append(wrap);
  const width = Math.max(280, Math.min(560, el.clientWidth - 8 || 480));
  return new uPlot(
    {
      width,
      height: 150,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // the time axis spans the points and every mark (the first step starts before the first point, the outcome after the last)
      scales: { x: { time: true, range: (u, min, max) => [Math.min(min, ...marks.map((m) => m.t / 1000)) - 0.5, Math.max(max, ...marks.map((m) => m.t / 1000)) + 0.5] }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { size: 50, values: (u, vals) => vals.map((v) => (opts.unit ? `${+v.toFixed(2)}${opts.unit}` : +v.toFixed(2))) }],
      series: [{}, ...series],
      ...(opts.bands ? { bands: opts.bands } : {}),
      plugins: [marksPlugin(marks)],
    },
    data,
    wrap,
  );
}

export function createChartsPanel({ container, api }) {
  let plots = [];
  let shownId = null;
  let deployments = [];
  let loading = false;

  const select = document.createElement('select');
  select.id = 'chart-deployment';
  select.setAttribute('aria-label', 'deployment to draw');
  select.addEventListener('change', () => show(select.value));
  const body = document.createElement('div');
  body.className = 'charts';
  container.replaceChildren(select, body);

  function clear() {
    for (const p of plots) p.destroy();
    plots = [];
    body.replaceChildren();
  }

  async function show(id) {
    shownId = id;
    if (!id || loading) return;
    loading = true;
    let s;
    try {
      s = await api(`/v1/deployments/${encodeURIComponent(id)}/series`);
    } catch (err) {
      clear();
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = `could not load the series: ${err.message}`;
      body.append(p);
      return;
    } finally {
      loading = false;
    }
    if (shownId !== id) return;
    clear();
    // one environment: the last one that had a canary (production, usually)
    const env = s.points.length ? s.points[s.points.length - 1].environment : null;
    const points = s.points.filter((p) => p.environment === env);
    if (!points.length) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'No canary data for this deployment (it went all at once, or was refused before any traffic).';
      body.append(p);
      return;
    }
    body.dataset.points = String(points.length);
    const marks = [
      ...s.steps.filter((x) => x.environment === env).map((x) => ({ t: x.t, label: `${x.weight}%`, color: COLORS.step, dash: true })),
      ...s.marks.filter((m) => m.environment === env || m.kind === 'end').map((m) => ({ t: m.t, label: m.kind === 'end' ? m.text : m.kind === 'weight0' ? 'weight 0' : m.kind === 'promoted' ? '100%' : m.kind, color: m.kind === 'fail' || m.kind === 'weight0' || (m.kind === 'end' && m.text !== 'promoted') ? COLORS.fail : m.kind === 'promoted' || m.text === 'promoted' ? COLORS.ok : COLORS.step })),
    ];
    const xs = points.map((p) => p.t / 1000);
    const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, spanGaps: true, ...extra });
    plots.push(chart(body, 'requests per second', [xs, rates(points, 'canary'), rates(points, 'control')], [line('canary', COLORS.canary), line('control', COLORS.control)], marks));
    plots.push(
      chart(
        body,
        'error rate, with the canary’s confidence band',
        [xs, points.map((p) => pctOf(p.canary.rate)), points.map((p) => pctOf(p.control.rate)), points.map((p) => pctOf(p.canary.upper)), points.map((p) => pctOf(p.canary.lower))],
        [line('canary', COLORS.canary), line('control', COLORS.control), { label: 'canary upper', stroke: COLORS.band, width: 1 }, { label: 'canary lower', stroke: COLORS.band, width: 1 }],
        marks,
        { unit: '%', bands: [{ series: [3, 4], fill: COLORS.band }] },
      ),
    );
    plots.push(
      chart(
        body,
        'latency p50 and p99 (ms)',
        [xs, points.map((p) => p.canary.p50Ms), points.map((p) => p.control.p50Ms), points.map((p) => p.canary.p99Ms), points.map((p) => p.control.p99Ms)],
        [line('canary p50', COLORS.canary), line('control p50', COLORS.control), line('canary p99', COLORS.canary, { dash: [6, 4] }), line('control p99', COLORS.control, { dash: [6, 4] })],
        marks,
        { unit: ' ms' },
      ),
    );
  }

  return {
    /** the deployments the selector offers (newest first); shows the running one, else the newest */
    setDeployments(list) {
      deployments = list.slice(0, 25);
      const keep = shownId && deployments.some((d) => d.id === shownId) ? shownId : (deployments.find((d) => d.state === 'running') ?? deployments[0])?.id;
      select.replaceChildren(
        ...deployments.map((d) => {
          const o = document.createElement('option');
          o.value = d.id;
          o.textContent = `${d.service}@${d.version} · ${d.state.replaceAll('_', ' ')} · ${d.id}`;
          return o;
        }),
      );
      if (keep) select.value = keep;
      if (keep !== shownId || deployments.find((d) => d.id === keep)?.state === 'running') void show(keep);
    },
    /** redraws the deployment shown (new samples of a running rollout) */
    refresh(deploymentId) {
      if (!deploymentId || deploymentId === shownId) void show(shownId);
    },
  };
}
