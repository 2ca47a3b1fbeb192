// The console: a page per hash route (#/, #/hosts, #/host/<ip>, #/flows,
// #/alerts, #/historical, #/settings), each drawn from the public REST API.
import { get, post, v1, v2, pro } from './api.js';
import { lineChart, barChart, fmtTime } from './chart.js';
import { sections } from './settings.js';

const main = document.getElementById('main');
const ifSel = document.getElementById('ifid');
const state = { admin: false };

// --- small DOM helpers -----------------------------------------------------
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}
const bytes = n => { const u = ['B', 'KB', 'MB', 'GB', 'TB']; let i = 0; n = Number(n) || 0; while (n >= 1000 && i < 4) { n /= 1000; i++; } return `${i ? n.toFixed(1) : Math.round(n)} ${u[i]}`; };
const num = n => (Number(n) || 0).toLocaleString('en');
const bps = n => bytes(n * 8).replace('B', 'b') + '/s';
// plain is the text of ntopng's labels, which carry HTML markup (icons):
// parsed inertly, never inserted as HTML; an icon-only label gives its title.
function plain(s) {
  if (typeof s !== 'string' || !s.includes('<')) return s;
  const body = new DOMParser().parseFromString(s, 'text/html').body;
  const titled = body.querySelector('[title]');
  return body.textContent.trim() || (titled ? titled.getAttribute('title') : '');
}
const cell = v => v === null || v === undefined ? '' : typeof v === 'object' ? plain(v.label ?? v.name ?? v.value ?? v.descr ?? JSON.stringify(v)) : plain(v);
const ifid = () => ifSel.value || '0';
const hostLink = (ip, label) => h('a', { href: '#/host/' + encodeURIComponent(ip) }, label || ip);

function card(label, value, id) { return h('div', { class: 'card' }, h('dl', {}, h('dt', {}, label), h('dd', { id }, value))); }

// table draws rows; cols are {label, get(row), num?, sort?}; onSort(col)
// makes sortable headers (keyboard: they are buttons).
function table(caption, cols, rows, sort) {
  const head = h('tr', {}, cols.map(c => {
    const aria = sort && sort.col === c.sort ? (sort.order === 'asc' ? 'ascending' : 'descending') : null;
    const label = c.sort && sort ? h('button', { type: 'button', onclick: () => sort.onSort(c.sort) }, c.label) : c.label;
    return h('th', { scope: 'col', class: c.num ? 'num' : null, 'aria-sort': aria }, label);
  }));
  const body = rows.length ? rows.map(r => h('tr', {}, cols.map(c => h('td', { class: c.num ? 'num' : null }, c.get(r)))))
    : [h('tr', {}, h('td', { colspan: cols.length }, 'Nothing to show.'))];
  return h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'sr' }, caption), h('thead', {}, head), h('tbody', {}, body)));
}

// pager: total null when the answer does not count its rows (then Next
// is offered while pages come back full).
function pager(page, perPage, total, go, full) {
  const pages = total === null ? null : Math.max(1, Math.ceil(total / perPage));
  const label = total === null ? `Page ${page}` : `Page ${page} of ${pages} (${num(total)} rows)`;
  return h('div', { class: 'pager', role: 'navigation', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1) }, 'Previous'),
    h('span', { class: 'pager-label' }, label),
    h('button', { type: 'button', disabled: total === null ? !full : page >= pages, onclick: () => go(page + 1) }, 'Next'));
}

// A page is what a page function returns: route draws the latest one
// only (a slow answer of a page left meanwhile is dropped).
const show = (title, ...kids) => ({ title, kids });
function draw(pg) {
  main.replaceChildren(h('h1', {}, pg.title), ...pg.kids);
  document.title = pg.title + ' — probe';
}
function fail(err) { main.append(h('p', { class: 'error', role: 'alert' }, String(err.message || err))); }

// window is the hour of data to chart: the last hour up to the newest
// activity the interface saw (a replayed capture's packets are old).
function window_(lastSeen) {
  const end = Math.max(lastSeen || 0, 1) + 300;
  return { epoch_begin: end - 3600, epoch_end: end };
}

// lastActivity is the newest last_seen of the interface's hosts (0: none).
async function lastActivity() {
  const r = await get(v1('get/host/active.lua'), { ifid: ifid(), sortColumn: 'column_last', sortOrder: 'desc', perPage: 1, currentPage: 1 });
  return ((r.data || [])[0] || {}).last_seen || 0;
}

async function seriesChart(caption, schema, query, win, fmt) {
  try {
    const ts = await get(v2('get/timeseries/ts.lua'), { ifid: ifid(), ts_schema: schema, ts_query: query, ...win });
    const s = (ts.series || [])[0] || { data: [] };
    return lineChart(caption, ts.start, ts.step, s.data, fmt);
  } catch (e) { return h('p', { class: 'error' }, `${caption}: ${e.message}`); }
}

// --- pages -----------------------------------------------------------------
async function dashboard() {
  const [d, hosts, apps, cats, ifaces] = await Promise.all([
    get(v1('get/interface/data.lua'), { ifid: ifid() }),
    get(v1('get/host/active.lua'), { ifid: ifid(), sortColumn: 'column_traffic', sortOrder: 'desc', perPage: 10, currentPage: 1 }),
    get(v1('get/interface/l7/stats.lua'), { ifid: ifid(), ndpistats_mode: 'sinceStartup' }),
    get(v1('get/interface/l7/stats.lua'), { ifid: ifid(), ndpistats_mode: 'sinceStartup', ndpi_category: 'true' }).catch(() => []),
    get(v1('get/ntopng/interfaces.lua')),
  ]);
  const me = ifaces.find(i => String(i.ifid) === ifid()) || {};
  const lastSeen = Math.max(0, ...(hosts.data || []).map(x => x.last_seen));
  const win = window_(lastSeen);
  const q = `ifid:${ifid()}`;
  const [traffic, packets] = await Promise.all([
    seriesChart('Throughput (bytes/s)', 'iface:traffic', q, win, n => bytes(n) + '/s'),
    seriesChart('Packets (packets/s)', 'iface:packets', q, win, n => num(Math.round(n))),
  ]);
  if (d.capture_mode) {
    // A live interface (files have no capture_mode): redraw every 10 s
    // while the dashboard is still the page shown.
    const my = generation;
    setTimeout(() => { if (my === generation && document.visibilityState === 'visible') route(); }, 10000);
  }
  return show('Dashboard — ' + (d.ifname || me.ifname || ''),
    h('div', { class: 'cards' },
      card('Bytes', bytes(d.bytes), 'stat-bytes'),
      card('Packets', num(d.packets), 'stat-packets'),
      card('Active hosts', num(d.num_hosts), 'stat-hosts'),
      card('Active flows', num(d.num_flows), 'stat-flows'),
      card('Engaged alerts', num(d.engaged_alerts), 'stat-alerts'),
      card('Throughput', bps(d.throughput_bps / 8 || 0), 'stat-thpt'),
      card('Drops', num(d.drops), 'stat-drops'),
      card('Capture', d.capture_mode || 'file', 'stat-capture')),
    h('div', { class: 'grid2' }, traffic, packets),
    h('div', { class: 'grid2' },
      h('section', { 'aria-labelledby': 'top-hosts' }, h('h2', { id: 'top-hosts' }, 'Top hosts'),
        table('Top hosts by traffic', [
          { label: 'Host', get: x => hostLink(x.ip, x.name) },
          { label: 'Traffic', num: true, get: x => bytes(x.bytes.total) },
          { label: 'Flows', num: true, get: x => num(x.num_flows.total) }], hosts.data || [])),
      h('section', { 'aria-labelledby': 'top-apps' }, h('h2', { id: 'top-apps' }, 'Top applications'),
        table('Top applications by traffic', [
          { label: 'Application', get: x => x.label },
          { label: 'Traffic', num: true, get: x => bytes(x.value) }], (apps || []).slice(0, 10))),
      h('section', { 'aria-labelledby': 'top-cats' }, h('h2', { id: 'top-cats' }, 'Top categories'),
        table('Top application categories by traffic', [
          { label: 'Category', get: x => x.label },
          { label: 'Traffic', num: true, get: x => bytes(x.value) }], (cats || []).slice(0, 10)))));
}

const hostsView = { page: 1, perPage: 25, col: 'column_traffic', order: 'desc', mode: 'all' };
async function hostsPage() {
  const v = hostsView;
  const [rsp, d] = await Promise.all([
    get(v1('get/host/active.lua'), { ifid: ifid(), mode: v.mode, currentPage: v.page, perPage: v.perPage, sortColumn: v.col, sortOrder: v.order }),
    get(v1('get/interface/data.lua'), { ifid: ifid() })]);
  const data = rsp.data || [];
  // host/active does not count its rows; the interface counts all hosts.
  const total = rsp.totalRows ?? (v.mode === 'all' ? d.num_hosts : null);
  const sort = { col: v.col, order: v.order, onSort: c => { v.order = v.col === c && v.order === 'desc' ? 'asc' : 'desc'; v.col = c; v.page = 1; route(); } };
  const mode = h('select', { id: 'host-mode', onchange: e => { v.mode = e.target.value; v.page = 1; route(); } },
    ['all', 'local', 'remote', 'broadcast_domain', 'blacklisted'].map(m => h('option', { value: m, selected: m === v.mode }, m)));
  return show('Hosts',
    h('label', { for: 'host-mode' }, 'Show'), mode,
    table('Active hosts', [
      { label: 'IP', sort: 'column_ip', get: x => hostLink(x.ip) },
      { label: 'Name', sort: 'column_name', get: x => x.name },
      // The list carries the country, not the AS (the host's page shows it);
      // get/host/active does not sort by country.
      { label: 'Country', get: x => x.country || '' },
      { label: 'Flows', num: true, sort: 'column_num_flows', get: x => num(x.num_flows.total) },
      { label: 'Throughput', num: true, sort: 'column_thpt', get: x => bps(x.thpt.bps / 8) },
      { label: 'Traffic', num: true, sort: 'column_traffic', get: x => bytes(x.bytes.total) },
      { label: 'Last seen', sort: 'column_last', get: x => fmtTime(x.last_seen) }], data, sort),
    pager(v.page, v.perPage, total, p => { v.page = p; route(); }, data.length === v.perPage));
}

async function hostPage(ip) {
  const d = await get(v1('get/host/data.lua'), { ifid: ifid(), host: ip });
  const win = window_(d.seen && d.seen.last || d['seen.last'] || await lastActivity());
  const [chart, apps, flows, alerts] = await Promise.all([
    seriesChart('Host traffic (bytes/s)', 'host:traffic', `ifid:${ifid()},host:${ip}`, win, n => bytes(n) + '/s'),
    get(v1('get/host/l7/stats.lua'), { ifid: ifid(), host: ip }).catch(() => []),
    get(v1('get/flow/active.lua'), { ifid: ifid(), host: ip, perPage: 20 }).catch(() => ({ data: [] })),
    // v2's host alert list filters by address (v1's does not filter).
    Promise.all(['engaged', 'historical'].map(status => get(v2('get/host/alert/list.lua'), { ifid: ifid(), status, ip: ip + ';eq' })))
      .then(ls => ({ records: ls.flatMap(l => l.records || []) })),
  ]);
  return show('Host ' + (d.name && d.name !== ip ? `${d.name} (${ip})` : ip),
    h('div', { class: 'cards' },
      card('Sent', bytes(d['bytes.sent']), 'host-sent'),
      card('Received', bytes(d['bytes.rcvd']), 'host-rcvd'),
      card('Score', num(d.score), 'host-score'),
      card('Country', d.country || '—'),
      card('AS', d.asname || (d.asn ? 'AS' + d.asn : '—'))),
    chart,
    h('div', { class: 'grid2' },
      h('section', {}, h('h2', {}, 'Applications'), table('Applications', [
        { label: 'Application', get: x => x.label }, { label: 'Traffic', num: true, get: x => bytes(x.value) }], Array.isArray(apps) ? apps : [])),
      h('section', { id: 'host-alerts' }, h('h2', {}, 'Alerts'), alertTable(alerts.records, false))),
    h('h2', {}, 'Active flows'), flowTable(flows.data || []));
}

function flowTable(rows) {
  return table('Active flows', [
    { label: 'Application', get: x => `${x.protocol.l4}/${x.protocol.l7}` },
    { label: 'Client', get: x => h('span', {}, hostLink(x.client.ip, x.client.name), ':' + x.client.port) },
    { label: 'Server', get: x => h('span', {}, hostLink(x.server.ip, x.server.name), ':' + x.server.port) },
    { label: 'Bytes', num: true, get: x => bytes(x.bytes) },
    { label: 'Score', num: true, get: x => x.score },
    { label: 'First seen', get: x => fmtTime(x.first_seen) }], rows);
}

const flowsView = { page: 1, perPage: 25, host: '', application: '', l4proto: '' };
async function flowsPage() {
  const v = flowsView;
  const params = { ifid: ifid(), currentPage: v.page, perPage: v.perPage };
  for (const k of ['host', 'application', 'l4proto']) if (v[k]) params[k] = v[k];
  const rsp = await get(v1('get/flow/active.lua'), params);
  const filters = h('form', { class: 'query', id: 'flow-filters' },
    h('label', {}, 'Host', h('input', { name: 'host', value: v.host, placeholder: 'IP address' })),
    h('label', {}, 'Application', h('input', { name: 'application', value: v.application, placeholder: 'e.g. TLS' })),
    h('label', {}, 'Layer 4', h('select', { name: 'l4proto' }, [['', 'any'], ['6', 'TCP'], ['17', 'UDP'], ['1', 'ICMP']].map(([val, l]) => h('option', { value: val, selected: v.l4proto === val }, l)))),
    h('button', { type: 'submit' }, 'Filter'));
  filters.addEventListener('submit', e => {
    e.preventDefault();
    const fd = new FormData(filters);
    Object.assign(v, { host: fd.get('host').trim(), application: fd.get('application').trim(), l4proto: fd.get('l4proto'), page: 1 });
    route();
  });
  return show('Active flows', filters, h('p', { id: 'flow-count' }, `${num(rsp.totalRows || 0)} flows`), flowTable(rsp.data || []), pager(v.page, v.perPage, rsp.totalRows || 0, p => { v.page = p; route(); }));
}

// acked are the acknowledged past alerts ("family:row_id") of the page
// drawn last; v1's alert lists do not say, v2's alert_status does.
let acked = new Set();
async function ackedAlerts(families) {
  const out = new Set();
  for (const family of families) {
    const rows = await get(v2('get/alert/list/alerts.lua'), { ifid: ifid(), alert_family: family, select_clause: 'rowid,alert_status', maxhits_clause: 10000 }).catch(() => []);
    for (const r of rows || []) if (String(r.alert_status) === '1') out.add(`${family}:${r.rowid}`);
  }
  return out;
}

function alertTable(rows, actions) {
  const cols = [
    { label: 'Time', get: x => fmtTime(x.tstamp && typeof x.tstamp === 'object' ? x.tstamp.value : x.tstamp) },
    { label: 'Severity', get: x => cell(x.severity) },
    { label: 'Alert', get: x => cell(x.alert_id) },
    { label: 'Entity', get: x => x.entity_val || (x.flow ? `${cell(x.flow.cli_ip)} → ${cell(x.flow.srv_ip)}` : '') },
    { label: 'Score', num: true, get: x => cell(x.score) },
    { label: 'Description', get: x => cell(x.msg && (x.msg.description || x.msg.name)) || cell(x.description) }];
  if (actions) cols.push({ label: 'Actions', get: x => acked.has(`${x.family}:${x.row_id}`) ? h('span', { class: 'acked' }, 'Acknowledged') : h('span', {},
    h('button', { type: 'button', class: 'ack', 'data-row': x.row_id, 'aria-label': 'Acknowledge alert ' + x.row_id, onclick: () => alertAction('acknowledge', x) }, 'Acknowledge'), ' ',
    h('button', { type: 'button', class: 'del', 'data-row': x.row_id, 'aria-label': 'Delete alert ' + x.row_id, onclick: () => alertAction('delete', x) }, 'Delete')) });
  return table('Alerts', cols, rows);
}

async function alertAction(what, x) {
  if (what === 'delete' && !confirm('Delete this alert?')) return;
  const family = x.family === 'flow' ? 'flow' : x.family === 'interface' ? 'interface' : 'host';
  try {
    await post(v1(`${what}/${family}/alerts.lua`), { ifid: ifid(), row_id: x.row_id });
    route();
  } catch (e) { fail(e); }
}

const alertsView = { status: 'engaged' };
async function alertsPage() {
  const v = alertsView;
  const rsp = await get(v1('get/all/alert/list.lua'), { ifid: ifid(), status: v.status, length: 200 });
  acked = v.status === 'engaged' ? new Set() : await ackedAlerts([...new Set((rsp.records || []).map(x => x.family))]);
  const tabs = h('div', { role: 'group', 'aria-label': 'Alert status' },
    ['engaged', 'historical', 'historical-flows'].map(s => h('button', { type: 'button', 'aria-pressed': String(s === v.status), id: 'alerts-' + s, onclick: () => { v.status = s; route(); } },
      s === 'engaged' ? 'Engaged' : s === 'historical' ? 'Past' : 'Past flow alerts')));
  return show('Alerts', tabs, alertTable(rsp.records || [], v.status !== 'engaged' && state.admin));
}

async function historicalPage() {
  // The day up to the interface's newest activity (a replayed capture's
  // flows are old), else up to now.
  const last = await lastActivity();
  const now = last ? last + 300 : Math.floor(Date.now() / 1000);
  const f = h('form', { class: 'query', id: 'hist-form' },
    h('label', {}, 'Attributes', h('input', { name: 'select_clause', value: 'IPV4_SRC_ADDR,IPV4_DST_ADDR,L7_PROTO,BYTES' })),
    h('label', {}, 'Condition', h('input', { name: 'where_clause', placeholder: "e.g. L7_PROTO = 'TLS'" })),
    h('label', {}, 'From', h('input', { name: 'begin', type: 'datetime-local', value: new Date((now - 86400) * 1000).toISOString().slice(0, 16) })),
    h('label', {}, 'To', h('input', { name: 'end', type: 'datetime-local', value: new Date(now * 1000).toISOString().slice(0, 16) })),
    h('label', {}, 'Rows', h('input', { name: 'maxhits', type: 'number', min: 1, max: 1000, value: 50 })),
    h('button', { type: 'submit' }, 'Query'));
  const out = h('div', { id: 'hist-out' });
  f.addEventListener('submit', async e => {
    e.preventDefault();
    const fd = new FormData(f);
    const t = s => Math.floor(Date.parse(s + 'Z') / 1000);
    const params = { ifid: ifid(), select_clause: fd.get('select_clause'), begin_time_clause: t(fd.get('begin')), end_time_clause: t(fd.get('end')), maxhits_clause: fd.get('maxhits') };
    if (fd.get('where_clause')) params.where_clause = fd.get('where_clause');
    out.replaceChildren(h('p', {}, 'Querying…'));
    try {
      const rsp = await get(pro('get/db/flows.lua'), params);
      const rows = Array.isArray(rsp) ? rsp : rsp.records || rsp.data || [];
      const keys = rows.length ? Object.keys(rows[0]) : [];
      const bytesKey = keys.find(k => /BYTES/.test(k));
      out.replaceChildren(h('p', { id: 'hist-count' }, `${rows.length} flows`),
        bytesKey ? barChart(`${bytesKey} per flow`, rows.map(r => Number(r[bytesKey]) || 0)) : '',
        table('Historical flows', keys.map(k => ({ label: k, num: typeof rows[0][k] === 'number', get: r => cell(r[k]) })), rows));
    } catch (err) { out.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message)); }
  });
  return show('Historical flows', f, out);
}

async function settingsPage() {
  if (!state.admin) return show('Settings', h('p', {}, 'Only administrators manage the probe.'));
  const [users, more] = await Promise.all([get(v1('get/ntopng/users.lua')), sections({ h, table, route })]);
  const add = h('form', { class: 'query', id: 'user-form' },
    h('label', {}, 'User name', h('input', { name: 'username', required: true })),
    h('label', {}, 'Full name', h('input', { name: 'full_name', required: true })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' })),
    h('label', {}, 'Role', h('select', { name: 'user_role' }, h('option', { value: 'unprivileged' }, 'unprivileged'), h('option', { value: 'administrator' }, 'administrator'))),
    h('label', {}, 'Networks', h('input', { name: 'allowed_networks', value: '0.0.0.0/0,::/0' })),
    h('button', { type: 'submit' }, 'Add user'));
  const msg = h('p', { 'aria-live': 'polite' });
  add.addEventListener('submit', async e => {
    e.preventDefault();
    const fd = Object.fromEntries(new FormData(add));
    try { await post(v1('add/ntopng/user.lua'), { ...fd, confirm_password: fd.password, allowed_interface: '' }); route(); } catch (err) { msg.textContent = err.message; msg.className = 'error'; }
  });
  const tokenOut = h('output', { id: 'token-out' });
  const token = h('button', { type: 'button', onclick: async () => {
    try { const r = await post(v1('create/ntopng/api_token.lua'), {}); tokenOut.textContent = r.api_token; } catch (err) { tokenOut.textContent = err.message; }
  } }, 'Create my API token');
  return show('Settings',
    h('h2', {}, 'Users'),
    table('Users', [{ label: 'User', get: u => u.username }, { label: 'Full name', get: u => u.full_name }, { label: 'Group', get: u => u.group || u.user_role || '' },
      { label: 'Actions', get: u => u.username === 'admin' ? '' : h('button', { type: 'button', 'aria-label': 'Delete user ' + u.username, onclick: async () => {
        if (!confirm(`Delete the user ${u.username}?`)) return;
        try { await post(v1('delete/ntopng/user.lua'), { username: u.username }); route(); } catch (err) { msg.textContent = err.message; msg.className = 'error'; }
      } }, 'Delete') }],
      // users.lua answers an object keyed by user name (ntopng's shape).
      Array.isArray(users) ? users : Object.entries(users || {}).map(([name, u]) => ({ username: name, ...u }))),
    h('h2', {}, 'Add a user'), add, msg,
    h('h2', {}, 'API token'), h('p', {}, 'A new token replaces the old one.'), token, ' ', tokenOut,
    ...more);
}

// --- routing ---------------------------------------------------------------
const routes = [
  [/^#?\/?$/, dashboard], [/^#\/hosts$/, hostsPage], [/^#\/host\/(.+)$/, hostPage], [/^#\/flows$/, flowsPage],
  [/^#\/alerts$/, alertsPage], [/^#\/historical$/, historicalPage], [/^#\/settings$/, settingsPage],
];

let generation = 0;
async function route() {
  const my = ++generation;
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('header nav a')) {
    const here = a.getAttribute('href') === hash || (hash.startsWith('#/host/') && a.getAttribute('href') === '#/hosts');
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (m) {
      main.setAttribute('aria-busy', 'true');
      let pg;
      try { pg = await page(...m.slice(1).map(decodeURIComponent)); } catch (e) { pg = show('Error', h('p', { class: 'error', role: 'alert' }, e.message || String(e))); }
      if (my !== generation) return; // a newer route() draws
      draw(pg);
      main.removeAttribute('aria-busy');
      main.dataset.page = page.name;
      return;
    }
  }
  draw(show('Not found', h('p', {}, 'No such page.')));
}

async function start() {
  try {
    const ifaces = await get(v1('get/ntopng/interfaces.lua'));
    ifSel.replaceChildren(...ifaces.map(i => h('option', { value: i.ifid }, i.ifname)));
  } catch (e) { fail(e); return; }
  // The users list is for administrators only: its answer says who we are.
  try { await get(v1('get/ntopng/users.lua')); state.admin = true; } catch { state.admin = false; }
  document.getElementById('nav-settings').hidden = !state.admin;
  ifSel.addEventListener('change', route);
  // A new page takes the focus (keyboard and screen-reader users start at
  // its heading); a redraw of the same page (after an action) does not.
  window.addEventListener('hashchange', async () => { await route(); main.focus(); });
  route();
}
start();
