// The public REST API with the session cookie: GETs carry parameters in
// the query, POSTs a form body (the browser adds Origin, which the probe's
// cross-site check wants). A 302 to the login page means the session
// ended: the browser goes there.
const loginPath = '/lua/login.lua';

function toLogin() {
  location.assign(loginPath + '?referer=' + encodeURIComponent(location.pathname + location.hash));
}

async function call(method, path, params, json) {
  const q = new URLSearchParams(params || {});
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, redirect: 'follow' };
  let url = path;
  if (json !== undefined) { opts.body = JSON.stringify(json); opts.headers['Content-Type'] = 'application/json'; }
  else if (method === 'GET') { if ([...q].length) url += '?' + q; } else { opts.body = q; }
  const res = await fetch(url, opts);
  if (res.redirected && res.url.includes(loginPath)) { toLogin(); throw new Error('not logged in'); }
  if (res.redirected && res.url.includes('/lua/change_password.lua')) { location.assign(res.url); throw new Error('password change needed'); }
  const text = await res.text();
  let env;
  try { env = JSON.parse(text); } catch { throw new Error(`${path}: HTTP ${res.status}, not JSON`); }
  if (env.rc !== 0) {
    const err = new Error(`${path}: ${env.rc_str}${env.rsp && env.rsp.error ? ': ' + env.rsp.error : ''}`);
    err.rc = env.rc_str;
    throw err;
  }
  return env;
}

export const get = async (path, params) => (await call('GET', path, params)).rsp;
export const getEnv = (path, params) => call('GET', path, params);
export const post = async (path, params) => (await call('POST', path, params)).rsp;
// postJSON posts a JSON body (the appliance's settings are one object).
export const postJSON = async (path, body) => (await call('POST', path, null, body)).rsp;
export const v1 = p => '/lua/rest/v1/' + p;
export const v2 = p => '/lua/rest/v2/' + p;
export const pro = p => '/lua/pro/rest/v1/' + p;
