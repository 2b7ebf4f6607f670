// Panel: environments in pipeline order (stable version, traffic split, per-version figures,
// instances).
import { $, empty, h, render } from '../dom.js';
import { badge, num, pct, time, versionRole } from '../format.js';
import { state } from '../state.js';

export function renderEnvironments() {
  const envs = state.status?.environments ?? [];
  if (!envs.length) return render($('envs'), empty('No environments configured.'));
  const cards = [];
  envs.forEach((env, i) => {
    if (i > 0) cards.push(h('div', { class: 'pipe-arrow', 'aria-hidden': 'true' }, '→'));
    cards.push(
      h(
        'article',
        { class: 'env', 'aria-label': `Environment ${env.name}`, dataset: { env: env.name } },
        h('h3', { class: 'env-name' }, h('span', { class: 'env-step' }, `${i + 1}`), env.name),
        env.services.map((s) => renderServiceInEnv(env, s)),
      ),
    );
  });
  render($('envs'), h('div', { class: 'pipeline' }, cards));
}

function renderServiceInEnv(env, s) {
  const stable = s.stable?.version;
  const router = s.router ?? {};
  const table = router.table?.versions ?? [];
  const stats = router.versions ?? {};
  const totalReq = Object.values(stats).reduce((n, v) => n + (v.requests ?? 0), 0);
  const totalErr = Object.values(stats).reduce((n, v) => n + (v.errors ?? 0), 0);
  // the running deployment is per service; it only concerns this environment if it goes through it
  const dep = s.runningDeployment ? state.deployments.find((d) => d.id === s.runningDeployment) : undefined;
  const running = dep?.environments.some((e) => e.name === env.name && (e.state === 'running' || e.state === 'pending')) ? dep : undefined;

  return h(
    'div',
    { class: 'svc', dataset: { service: s.service } },
    h(
      'div',
      { class: 'svc-head' },
      h('span', { class: 'svc-name' }, s.service),
      h('span', { class: 'svc-stable' }, h('span', { class: 'label' }, 'stable '), h('strong', { class: 'version', dataset: { role: 'stable-version' } }, stable ?? 'none')),
      s.stable ? h('span', { class: 'muted small' }, 'since ', time(s.stable.since)) : null,
      running ? h('span', { class: 'badge badge-warn' }, `deploying ${running.version}`) : null,
    ),
    router.reachable === false
      ? h('p', { class: 'warnline' }, `Router ${router.url} unreachable: ${router.error ?? ''}`)
      : splitBar(table, stable, `${env.name}/${s.service}`),
    h(
      'p',
      { class: 'svc-stats' },
      h('span', {}, h('span', { class: 'label' }, 'requests '), num(totalReq)),
      h('span', {}, h('span', { class: 'label' }, 'errors '), num(totalErr)),
      h('span', { class: totalReq && totalErr / totalReq > 0.01 ? 'bad-text' : '' }, h('span', { class: 'label' }, 'error rate '), totalReq ? pct(totalErr / totalReq) : '—'),
      router.url ? h('span', { class: 'muted small' }, router.url.replace(/^https?:\/\//, '')) : null,
    ),
    versionTable(table, stats, stable, running?.version),
    instanceTable(s.instances ?? []),
  );
}

function splitBar(allVersions, stable, label) {
  // a version at weight 0 (a canary pulled back, kept for its instances) takes no room in the bar
  const table = allVersions.filter((v) => v.weight > 0);
  const total = table.reduce((n, v) => n + v.weight, 0);
  if (!table.length || total === 0) return h('p', { class: 'warnline' }, 'Router has no traffic split (no version serving).');
  const described = table.map((v) => `${v.version} ${Math.round((v.weight / total) * 1000) / 10}%`).join(', ');
  return h(
    'div',
    { class: 'split', role: 'img', 'aria-label': `Traffic split for ${label}: ${described}`, dataset: { role: 'split' }, title: described },
    table.map((v) => {
      const share = (v.weight / total) * 100;
      const canary = stable && v.version !== stable;
      return h(
        'div',
        { class: `split-seg ${canary ? 'split-canary' : 'split-stable'}`, style: { flexGrow: String(Math.max(share, 0)), flexBasis: '0' }, dataset: { version: v.version, weight: String(v.weight) } },
        h('span', { class: 'split-label' }, `${v.version} · ${share < 1 && share > 0 ? share.toFixed(1) : Math.round(share)}%`),
      );
    }),
  );
}

function versionTable(table, stats, stable, deploying) {
  const versions = [...new Set([...table.map((v) => v.version), ...Object.keys(stats)])];
  if (!versions.length) return null;
  return h(
    'table',
    { class: 'grid grid-compact' },
    h('caption', { class: 'sr-only' }, 'Router statistics per version'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'version'), h('th', { scope: 'col', class: 'num' }, 'weight'), h('th', { scope: 'col', class: 'num' }, 'requests'), h('th', { scope: 'col', class: 'num' }, 'errors'), h('th', { scope: 'col', class: 'num' }, 'error rate'))),
    h(
      'tbody',
      {},
      versions.map((v) => {
        const st = stats[v] ?? {};
        const w = table.find((t) => t.version === v)?.weight ?? st.weight ?? 0;
        const rate = st.requests ? st.errors / st.requests : undefined;
        return h(
          'tr',
          {},
          h('td', {}, v, tagOf(versionRole(v, stable, w, deploying))),
          h('td', { class: 'num' }, `${w}%`),
          h('td', { class: 'num' }, num(st.requests ?? 0)),
          h('td', { class: 'num' }, num(st.errors ?? 0)),
          h('td', { class: `num ${rate > 0.01 ? 'bad-text' : ''}` }, rate === undefined ? '—' : pct(rate)),
        );
      }),
    ),
  );
}

function tagOf(role) {
  return h('span', { class: role === 'canary' ? 'tag tag-canary' : 'tag' }, role);
}

function instanceTable(instances) {
  if (!instances.length) return h('p', { class: 'muted small' }, 'No instances running.');
  // an ssh target's instances run on hosts: which one is what a person looks for first
  const hosts = instances.some((i) => i.host);
  return h(
    'table',
    { class: 'grid grid-compact' },
    h('caption', { class: 'sr-only' }, 'Instances'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'instance'), h('th', { scope: 'col' }, 'version'), h('th', { scope: 'col' }, 'state'), h('th', { scope: 'col', class: 'num' }, hosts ? 'host:port' : 'port'), h('th', { scope: 'col', class: 'num' }, 'restarts'))),
    h(
      'tbody',
      {},
      instances.map((i) =>
        h(
          'tr',
          {},
          h('td', {}, h('span', { class: 'mono inst-id' }, i.id), i.role ? h('span', { class: 'tag' }, i.role) : null),
          h('td', {}, i.version),
          h('td', {}, badge(i.state)),
          h('td', { class: 'num mono', style: { whiteSpace: 'nowrap' } }, i.host ? `${i.host}:${i.port}` : i.port),
          h('td', { class: `num ${i.restarts > 0 ? 'bad-text' : ''}` }, i.restarts),
        ),
      ),
    ),
  );
}
