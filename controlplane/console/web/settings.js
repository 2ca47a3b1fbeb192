// The administrators' settings beyond users and tokens: notification
// endpoints and recipients, SNMP devices, flow-export collectors, checks,
// the appliance's own settings, firmware update and factory reset. Each
// section is drawn from the public REST API on its own: one the probe does
// not offer here (NOT_ENABLED: not an appliance, no SNMP...) says so and
// the others still show.
import { get, post, postJSON, v1, pro } from './api.js';

// sections returns the settings sections; ui carries the console's DOM
// helpers (h, table) and route (redraws the page after a change).
export async function sections(ui) {
  const all = [notifications, snmpDevices, collectors, checksSection, appliance, firmware, factoryReset];
  return Promise.all(all.map(async s => {
    try { return await s(ui); } catch (e) {
      const { h } = ui;
      return h('section', { class: 'settings' }, h('h2', {}, s.title),
        h('p', { class: e.rc === 'NOT_ENABLED' ? 'note' : 'error' }, e.rc === 'NOT_ENABLED' ? 'Not available on this probe: ' + e.message : e.message));
    }
  }));
}

// form builds a labelled form: fields are [label, name, attrs]; submit
// posts what action(data) does, then shows the answer in its status line.
function form(ui, id, submit, fields, action) {
  const { h } = ui;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: id + '-status' });
  const f = h('form', { class: 'query', id },
    fields.map(([label, name, attrs, labelAttrs]) => attrs && attrs.options
      ? h('label', labelAttrs, label, h('select', { name }, attrs.options.map(([v, l]) => h('option', { value: v, selected: attrs.value === v }, l))))
      : h('label', labelAttrs, label, h('input', { name, ...attrs }))),
    h('button', { type: 'submit' }, submit));
  f.addEventListener('submit', async e => {
    e.preventDefault();
    status.className = 'status';
    status.textContent = 'Saving…';
    try {
      const done = await action(Object.fromEntries(new FormData(f)));
      status.textContent = done || 'Saved.';
    } catch (err) { status.textContent = err.message; status.className = 'status error'; }
  });
  return [f, status];
}

// del is a delete button for one row; confirm names what goes.
function del(ui, what, call) {
  return ui.h('button', { type: 'button', 'aria-label': 'Delete ' + what, onclick: async () => {
    if (!confirm(`Delete ${what}?`)) return;
    try { await call(); ui.route(); } catch (err) { alert(err.message); }
  } }, 'Delete');
}

const severities = ['none', 'debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
const entities = ['interface', 'host', 'network', 'snmp_device', 'flow', 'mac', 'user', 'am_host', 'system'];

async function notifications(ui) {
  const { h, table } = ui;
  const [eps, recs] = await Promise.all([get(v1('get/notification/endpoints.lua')), get(v1('get/notification/recipients.lua'))]);
  const epName = id => (eps.find(e => e.endpoint_id === id) || {}).endpoint_conf_name || `#${id}`;
  const target = e => { const c = e.endpoint_conf || {}; return c.webhook_url || (c.syslog_host ? `${c.syslog_host}:${c.syslog_port || 514}` : '') || c.email_recipient || ''; };
  const [epForm, epStatus] = form(ui, 'endpoint-form', 'Add endpoint', [
    ['Name', 'endpoint_conf_name', { required: true }],
    ['Type', 'endpoint_key', { options: [['webhook', 'Webhook'], ['syslog', 'Syslog'], ['email', 'E-mail']], value: 'webhook' }],
    ['Webhook URL', 'webhook_url', { type: 'url', placeholder: 'https://…' }, { 'data-kind': 'webhook' }],
    ['Syslog host', 'syslog_host', {}, { 'data-kind': 'syslog', hidden: true }],
    ['Syslog port', 'syslog_port', { type: 'number', min: 1, max: 65535, placeholder: '514' }, { 'data-kind': 'syslog', hidden: true }],
    ['Syslog transport', 'syslog_protocol', { options: [['udp', 'UDP'], ['tcp', 'TCP']], value: 'udp' }, { 'data-kind': 'syslog', hidden: true }],
    ['SMTP server', 'smtp_server', { placeholder: 'smtp://host:25' }, { 'data-kind': 'email', hidden: true }],
    ['E-mail sender', 'email_sender', { type: 'email' }, { 'data-kind': 'email', hidden: true }],
    ['E-mail recipients', 'email_recipient', { placeholder: 'a@example.org, b@example.org' }, { 'data-kind': 'email', hidden: true }],
  ], async d => {
    // Only the fields of the chosen type (the others stay empty).
    const prefix = { webhook: 'webhook_', syslog: 'syslog_', email: null }[d.endpoint_key];
    const p = { endpoint_conf_name: d.endpoint_conf_name, endpoint_key: d.endpoint_key };
    for (const [k, v] of Object.entries(d)) {
      if (!v || k in p) continue;
      const email = k === 'smtp_server' || k.startsWith('email_');
      if (prefix ? k.startsWith(prefix) : email) p[k] = v;
    }
    await post(v1('add/notification/endpoint.lua'), p);
    ui.route();
  });
  // The form shows the fields of the chosen type only.
  epForm.elements.endpoint_key.addEventListener('change', e => {
    for (const l of epForm.querySelectorAll('label[data-kind]')) l.hidden = l.dataset.kind !== e.target.value;
  });
  const [recForm, recStatus] = form(ui, 'recipient-form', 'Add recipient', [
    ['Name', 'recipient_name', { required: true }],
    ['Endpoint', 'endpoint_id', { options: eps.map(e => [String(e.endpoint_id), e.endpoint_conf_name]) }],
    ['Minimum severity', 'minimum_severity', { options: severities.map((s, i) => [String(i), s]), value: '0' }],
    ['Entities (empty: all)', 'recipient_entities', { placeholder: entities.slice(0, 3).join(',') }],
  ], async d => {
    if (!d.endpoint_id) throw new Error('Add an endpoint first.');
    const p = { recipient_name: d.recipient_name, endpoint_id: d.endpoint_id, minimum_severity: d.minimum_severity };
    if (d.recipient_entities.trim()) p.recipient_entities = d.recipient_entities.trim();
    await post(v1('add/notification/recipient.lua'), p);
    ui.route();
  });
  return h('section', { class: 'settings', id: 'notifications', 'aria-labelledby': 'h-notifications' },
    h('h2', { id: 'h-notifications' }, 'Notifications'),
    h('h3', {}, 'Endpoints'),
    table('Notification endpoints', [
      { label: 'Name', get: e => e.endpoint_conf_name }, { label: 'Type', get: e => e.endpoint_key }, { label: 'Target', get: e => target(e) },
      { label: 'Sent', num: true, get: e => (e.stats && (e.stats.sent ?? e.stats.Sent)) ?? '' },
      { label: 'Actions', get: e => h('span', {},
        h('button', { type: 'button', 'aria-label': 'Test endpoint ' + e.endpoint_conf_name, onclick: async ev => {
          const b = ev.currentTarget;
          try { const r = await post(v1('test/notification/endpoint.lua'), { endpoint_id: e.endpoint_id }); b.textContent = r.success ? 'Test sent' : 'Test failed: ' + r.error; } catch (err) { b.textContent = err.message; }
        } }, 'Test'), ' ',
        del(ui, 'endpoint ' + e.endpoint_conf_name, () => post(v1('delete/notification/endpoint.lua'), { endpoint_id: e.endpoint_id }))) }], eps),
    h('h4', {}, 'Add an endpoint'), epForm, epStatus,
    h('h3', {}, 'Recipients'),
    table('Notification recipients', [
      { label: 'Name', get: r => r.recipient_name }, { label: 'Endpoint', get: r => epName(r.endpoint_id) },
      { label: 'Minimum severity', get: r => severities[r.minimum_severity] || r.minimum_severity },
      { label: 'Entities', get: r => (r.recipient_entities || []).join(', ') || 'all' },
      { label: 'Actions', get: r => del(ui, 'recipient ' + r.recipient_name, () => post(v1('delete/notification/recipient.lua'), { recipient_id: r.recipient_id })) }], recs),
    h('h4', {}, 'Add a recipient'), recForm, recStatus);
}
notifications.title = 'Notifications';

async function snmpDevices(ui) {
  const { h, table } = ui;
  const devs = await get(pro('get/snmp/devices.lua'));
  const [f, status] = form(ui, 'snmp-form', 'Add device', [
    ['Host', 'snmp_host', { required: true, placeholder: 'IP address or name' }],
    ['Port', 'snmp_port', { type: 'number', min: 1, max: 65535, value: 161 }],
    ['Version', 'snmp_version', { options: [['1', 'v1'], ['2c', 'v2c'], ['3', 'v3']], value: '2c' }],
    ['Community', 'snmp_read_community', { value: 'public' }],
    ['Network', 'cidr', { options: [['32', 'this host'], ['24', 'its /24 (IPv4)']], value: '32' }],
  ], async d => {
    const r = await post(pro('add/snmp/device.lua'), d);
    ui.route();
    return 'Added ' + ((r && r.added) || []).join(', ');
  });
  return h('section', { class: 'settings', id: 'snmp', 'aria-labelledby': 'h-snmp' },
    h('h2', { id: 'h-snmp' }, 'SNMP devices'),
    table('SNMP devices', [
      { label: 'Device', get: d => d.device.id || d.device.snmp_host }, { label: 'Name', get: d => (d.system && (d.system.name || d.system.sysName)) || '' },
      { label: 'Version', get: d => d.device.snmp_version }, { label: 'Reachable', get: d => d.reachable ? 'yes' : 'no' },
      { label: 'Interfaces', num: true, get: d => (d.interfaces || []).length },
      { label: 'Last error', get: d => d.last_error || '' },
      { label: 'Actions', get: d => del(ui, 'SNMP device ' + (d.device.id || d.device.snmp_host), () => post(pro('delete/snmp/device.lua'), { host: d.device.id || d.device.snmp_host })) }], devs),
    h('h3', {}, 'Add a device'), f, status);
}
snmpDevices.title = 'SNMP devices';

async function collectors(ui) {
  const { h, table } = ui;
  const list = await get(v1('get/export/collectors.lua'));
  const [f, status] = form(ui, 'collector-form', 'Add collector', [
    ['Address', 'address', { required: true, placeholder: 'host:port' }],
    ['Transport', 'transport', { options: [['udp', 'UDP'], ['tcp', 'TCP']], value: 'udp' }],
    ['Protocol', 'protocol', { options: [['ipfix', 'IPFIX'], ['netflow9', 'NetFlow v9']], value: 'ipfix' }],
    ['Observation domain', 'observation_domain', { type: 'number', min: 0, value: 0 }],
  ], async d => { await post(v1('add/export/collector.lua'), d); ui.route(); });
  return h('section', { class: 'settings', id: 'collectors', 'aria-labelledby': 'h-collectors' },
    h('h2', { id: 'h-collectors' }, 'Flow export collectors'),
    table('Flow export collectors', [
      { label: 'Address', get: c => c.collector.address }, { label: 'Transport', get: c => c.collector.transport || 'udp' },
      { label: 'Protocol', get: c => c.collector.protocol || 'ipfix' }, { label: 'Domain', num: true, get: c => c.collector.observation_domain },
      { label: 'Actions', get: c => c.from_command_line ? 'command line' : del(ui, 'collector ' + c.collector.address, () => post(v1('delete/export/collector.lua'), { id: c.collector.id })) }], list),
    h('h3', {}, 'Add a collector'), f, status);
}
collectors.title = 'Flow export collectors';

async function checksSection(ui) {
  const { h, table } = ui;
  const list = await get(v1('get/checks/list.lua'));
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'checks-status' });
  const id = c => `check-${c.check_subdir}-${c.script_key}`;
  const say = (text, bad) => { status.textContent = text; status.className = bad ? 'status error' : 'status'; };
  const toggle = c => h('input', { type: 'checkbox', id: id(c), checked: c.enabled, 'data-check': `${c.check_subdir}/${c.script_key}`, onchange: async e => {
    const on = e.target.checked;
    try { await post(v1((on ? 'enable' : 'disable') + '/check.lua'), { check_subdir: c.check_subdir, script_key: c.script_key }); say(`${c.title}: ${on ? 'enabled' : 'disabled'}.`); }
    catch (err) { e.target.checked = !on; say(err.message, true); }
  } });
  const threshold = c => {
    if (c.unit === undefined) return '';
    const inp = h('input', { type: 'number', step: 'any', value: c.threshold, id: id(c) + '-threshold', 'aria-label': `${c.title} threshold (${c.unit})` });
    return h('span', { class: 'threshold' }, inp, ' ', c.unit, ' ', h('button', { type: 'button', 'aria-label': `Save ${c.title} threshold`, onclick: async () => {
      try { await post(v1('edit/check/config.lua'), { check_subdir: c.check_subdir, script_key: c.script_key, threshold: inp.value }); say(`${c.title}: threshold ${inp.value} ${c.unit}.`); }
      catch (err) { say(err.message, true); }
    } }, 'Save'));
  };
  return h('section', { class: 'settings', id: 'checks', 'aria-labelledby': 'h-checks' },
    h('h2', { id: 'h-checks' }, 'Checks'), status,
    table('Checks', [
      { label: 'On', get: c => toggle(c) },
      { label: 'Check', get: c => h('label', { for: id(c) }, c.title || c.script_key) },
      { label: 'Kind', get: c => c.check_subdir }, { label: 'Severity', get: c => c.severity },
      { label: 'Threshold', get: c => threshold(c) },
      { label: 'Description', get: c => c.description }], list));
}
checksSection.title = 'Checks';

const lines = s => String(s || '').split(/[\s,]+/).map(x => x.trim()).filter(Boolean);

async function appliance(ui) {
  const { h } = ui;
  const cfg = await get('/appliance/v1/config');
  const m = cfg.management || {};
  const [f, status] = form(ui, 'appliance-form', 'Save appliance settings', [
    ['Management addressing', 'mode', { options: [['dhcp', 'DHCP'], ['static', 'Static']], value: m.mode }],
    ['Address (static, CIDR)', 'address', { value: m.address || '', placeholder: '192.0.2.10/24' }],
    ['Gateway', 'gateway', { value: m.gateway || '' }],
    ['DNS servers', 'dns', { value: (m.dns || []).join(', ') }],
    ['NTP servers', 'ntp_servers', { value: (cfg.ntp_servers || []).join(', ') }],
    ['Web port', 'http_port', { type: 'number', min: 1, max: 65535, value: cfg.http_port, required: true }],
    ['goProbe API address', 'goprobe_api', { value: cfg.goprobe_api || '' }],
    ['Local networks', 'local_networks', { value: (cfg.local_networks || []).join(', ') }],
  ], async d => {
    // The whole object goes back: fields the form does not show (update
    // keys, the goProbe keys as their references, probe flags) as read.
    const next = { ...cfg, management: { mode: d.mode, address: d.address, gateway: d.gateway, dns: lines(d.dns) },
      ntp_servers: lines(d.ntp_servers), http_port: Number(d.http_port), goprobe_api: d.goprobe_api, local_networks: lines(d.local_networks) };
    await postJSON('/appliance/v1/config', next);
    return 'Saved: the new settings apply at the next boot.';
  });
  const keys = cfg.goprobe_api_keys || [];
  return h('section', { class: 'settings', id: 'appliance', 'aria-labelledby': 'h-appliance' },
    h('h2', { id: 'h-appliance' }, 'Appliance'),
    h('p', {}, 'Management network, NTP and ports. Changes apply at the next boot.'),
    f, status,
    h('p', {}, `goProbe API keys: ${keys.length ? keys.join(', ') : 'none'} (shown as references; saving keeps them). Plain HTTP: ${cfg.http_plain ? 'yes' : 'no'}. Extra update keys: ${(cfg.update_keys || []).length}.`),
    h('button', { type: 'button', onclick: async ev => {
      if (!confirm('Reboot the appliance now?')) return;
      try { await post('/appliance/v1/reboot', {}); ev.target.textContent = 'Rebooting…'; } catch (err) { status.textContent = err.message; status.className = 'status error'; }
    } }, 'Reboot'));
}
appliance.title = 'Appliance';

// firmware does not read first: the update call says whether this probe
// takes updates (NOT_ENABLED when it is not an appliance).
async function firmware(ui) {
  const { h } = ui;
  const hex = { pattern: '[0-9a-fA-F]{64}', required: true, title: '64 hexadecimal digits', autocomplete: 'off' };
  const [f, status] = form(ui, 'update-form', 'Install update', [
    ['Kernel URL', 'kernel_url', { type: 'url', required: true }],
    ['Kernel SHA-256', 'kernel_sha256', hex],
    ['Kernel signature (base64 ed25519)', 'kernel_sig', { autocomplete: 'off' }],
    ['Initrd URL', 'initrd_url', { type: 'url', required: true }],
    ['Initrd SHA-256', 'initrd_sha256', hex],
    ['Initrd signature (base64 ed25519)', 'initrd_sig', { autocomplete: 'off' }],
  ], async d => {
    if (!confirm('Download, verify and install this firmware, then reboot into it?')) return 'Not installed.';
    for (const k of ['kernel_sig', 'initrd_sig']) if (!d[k]) delete d[k];
    await post('/appliance/v1/update', d);
    return 'Verified and installed: the appliance reboots into it (on trial).';
  });
  return h('section', { class: 'settings', id: 'firmware', 'aria-labelledby': 'h-firmware' },
    h('h2', { id: 'h-firmware' }, 'Firmware update'),
    h('p', {}, 'The appliance downloads both files, checks their SHA-256 and signatures, installs them in its other boot slot and reboots into it.'),
    f, status);
}
firmware.title = 'Firmware update';

const resetWord = 'RESET';
async function factoryReset(ui) {
  const { h } = ui;
  const [f, status] = form(ui, 'reset-form', 'Factory reset', [
    [`Type ${resetWord} to confirm`, 'confirm', { required: true, autocomplete: 'off', 'aria-describedby': 'reset-what' }],
  ], async d => {
    if (d.confirm !== resetWord) throw new Error(`Type ${resetWord} (capitals) to confirm.`);
    await post(v1('reset/all/config.lua'), {});
    return 'Resetting: the probe restarts with factory settings.';
  });
  return h('section', { class: 'settings', id: 'reset', 'aria-labelledby': 'h-reset' },
    h('h2', { id: 'h-reset' }, 'Factory reset'),
    h('p', { id: 'reset-what' }, 'Wipes users, tokens, settings and stored flows, then restarts the probe.'),
    f, status);
}
factoryReset.title = 'Factory reset';
