// A real OpenID provider (oidc-provider) plus a small Facebook-style OAuth 2 server,
// both on 127.0.0.1:$PORT, for the social-login tests. Started by tests/support/oidc.py.
//
// OpenID side: discovery, dynamic client registration (each test registers a client
// for its own redirect URI), PKCE required, signed ID tokens, userinfo. The sign-in
// page lets the test choose the account and its email claims; a consent page follows
// (Allow / Deny), as with Google.
//
// Facebook side (under /facebook/<version>/): the login dialog, the code-for-token
// exchange (client_secret_post) and the Graph `me` endpoint, which checks
// appsecret_proof as Facebook does when "Require App Secret" is on.
import { createServer } from 'node:http';
import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const FB_APP_ID = process.env.FACEBOOK_APP_ID || 'fb-test-app';
const FB_APP_SECRET = process.env.FACEBOOK_APP_SECRET || 'fb-test-secret';

// accountId -> claims; filled by the sign-in form, read back at the token and userinfo endpoints.
const accounts = new Map();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  pkce: { required: () => true },
  // oidc-provider's default (conformIdTokenClaims): profile and email claims come from the
  // userinfo endpoint, not the ID token, so the app's userinfo path is exercised too.
  responseTypes: ['code'],
  async findAccount(ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc server_error', err));

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${esc(title)} · Local OpenID Provider</title><style>
body{font:16px/1.5 system-ui,sans-serif;background:#f1f3f4;margin:0;display:grid;place-items:center;min-height:100vh}
main{background:#fff;border-radius:12px;box-shadow:0 2px 10px rgba(0,0,0,.12);padding:2rem 2.25rem;width:380px}
h1{font-size:1.35rem;margin:0 0 .25rem}p{color:#555;margin:0 0 1.25rem}label{display:block;font-size:.9rem;margin:.75rem 0 .25rem}
input[type=text],input[type=email]{width:100%;box-sizing:border-box;padding:.55rem .7rem;border:1px solid #bbb;border-radius:6px;font:inherit}
.check{display:flex;gap:.5rem;align-items:center}.actions{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}
button{font:600 .95rem system-ui;padding:.55rem 1.1rem;border-radius:6px;border:1px solid #1a73e8;background:#1a73e8;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1a73e8}</style></head><body><main>${body}</main></body></html>`;

function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function accountFields() {
  return `<label for="login">Account (subject)</label><input type="text" id="login" name="login" required>
<label for="name">Name</label><input type="text" id="name" name="name">
<label for="email">Email</label><input type="email" id="email" name="email">
<label class="check"><input type="checkbox" name="email_verified" value="true"> Email is verified</label>`;
}

function rememberAccount(form) {
  const login = (form.get('login') || '').trim();
  const name = (form.get('name') || '').trim();
  const claims = {};
  if (name) {
    claims.name = name;
    const [given, ...family] = name.split(/\s+/);
    claims.given_name = given;
    if (family.length) claims.family_name = family.join(' ');
  }
  const email = (form.get('email') || '').trim();
  if (email) {
    claims.email = email;
    claims.email_verified = form.get('email_verified') === 'true';
  }
  accounts.set(login, claims);
  return login;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

function redirect(res, location) {
  res.writeHead(303, { Location: location, 'Cache-Control': 'no-store' });
  res.end();
}

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      return send(res, 200, page('Sign in', `<h1>Sign in</h1><p>Local OpenID Provider</p>
<form id="login-form" method="post" action="/interaction/${uid}">${accountFields()}
<div class="actions"><button class="secondary" name="decision" value="deny" formnovalidate>Cancel</button>
<button name="decision" value="login">Sign in</button></div></form>`));
    }
    const client = await provider.Client.find(details.params.client_id);
    return send(res, 200, page('Allow access', `<h1>Allow access?</h1>
<p>${esc(client?.clientName || details.params.client_id)} wants your ${esc(details.params.scope)}.</p>
<form id="consent-form" method="post" action="/interaction/${uid}">
<div class="actions"><button class="secondary" name="decision" value="deny">Deny</button>
<button name="decision" value="allow">Allow</button></div></form>`));
  }
  const form = await readForm(req);
  const decision = form.get('decision');
  if (decision === 'deny') {
    return provider.interactionFinished(req, res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    if (!(form.get('login') || '').trim()) return send(res, 400, page('Sign in', '<h1>Account required</h1>'));
    return provider.interactionFinished(req, res, { login: { accountId: rememberAccount(form) } },
      { mergeWithLastSubmission: false });
  }
  const { details: missing } = prompt;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

// --- Facebook-style OAuth 2 (Graph API) -------------------------------------------------
const fbCodes = new Map(); // code -> { accountId, redirectUri, expires }
const fbTokens = new Map(); // access token -> accountId

function fbError(res, status, message, code = 100) {
  send(res, status, JSON.stringify({ error: { message, type: 'OAuthException', code, fbtrace_id: 'local' } }),
    'application/json');
}

function withParams(base, params) {
  const target = new URL(base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) target.searchParams.set(k, v);
  return target.toString();
}

async function facebook(req, res, url) {
  const [, , version, ...rest] = url.pathname.split('/');
  const route = rest.join('/');
  if (route === 'dialog/oauth') {
    const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
    const redirectUri = params.get('redirect_uri');
    const state = params.get('state');
    if (params.get('client_id') !== FB_APP_ID || !redirectUri) return send(res, 400, page('Error', '<h1>Invalid app ID</h1>'));
    if (req.method === 'GET') {
      const hidden = ['client_id', 'redirect_uri', 'state', 'scope']
        .map((k) => `<input type="hidden" name="${k}" value="${esc(params.get(k) || '')}">`).join('');
      return send(res, 200, page('Log in with Facebook', `<h1>Log in to continue</h1><p>Local Facebook (${esc(version)})</p>
<form id="login-form" method="post" action="${esc(url.pathname)}">${hidden}${accountFields()}
<div class="actions"><button class="secondary" name="decision" value="deny" formnovalidate>Cancel</button>
<button name="decision" value="allow">Continue</button></div></form>`));
    }
    if (params.get('decision') !== 'allow') {
      return redirect(res, withParams(redirectUri, { error: 'access_denied', error_code: '200',
        error_description: 'Permissions error', error_reason: 'user_denied', state }));
    }
    const accountId = rememberAccount(params);
    const code = randomBytes(24).toString('base64url');
    fbCodes.set(code, { accountId, redirectUri, expires: Date.now() + 10 * 60 * 1000 });
    return redirect(res, withParams(redirectUri, { code, state }));
  }
  if (route === 'oauth/access_token') {
    const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
    if (params.get('client_id') !== FB_APP_ID || params.get('client_secret') !== FB_APP_SECRET) {
      return fbError(res, 400, 'Error validating client secret.', 1);
    }
    const grant = fbCodes.get(params.get('code') || '');
    fbCodes.delete(params.get('code') || '');
    if (!grant || grant.expires < Date.now()) return fbError(res, 400, 'This authorization code has been used.');
    if (grant.redirectUri !== params.get('redirect_uri')) {
      return fbError(res, 400, 'Error validating verification code. Please make sure your redirect_uri is identical.');
    }
    const token = randomBytes(32).toString('base64url');
    fbTokens.set(token, grant.accountId);
    return send(res, 200, JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: 5183944 }),
      'application/json');
  }
  if (route === 'me') {
    const bearer = (req.headers.authorization || '').replace(/^Bearer\s+/i, '');
    const token = bearer || url.searchParams.get('access_token') || '';
    const accountId = fbTokens.get(token);
    if (!accountId) return fbError(res, 400, 'Invalid OAuth access token.', 190);
    const expected = createHmac('sha256', FB_APP_SECRET).update(token).digest('hex');
    const proof = url.searchParams.get('appsecret_proof') || '';
    if (proof.length !== expected.length || !timingSafeEqual(Buffer.from(proof), Buffer.from(expected))) {
      return fbError(res, 400, 'Invalid appsecret_proof provided in the API argument');
    }
    const claims = accounts.get(accountId) || {};
    const profile = { id: accountId, name: claims.name, email: claims.email };
    const fields = (url.searchParams.get('fields') || 'id,name').split(',');
    const body = Object.fromEntries(fields.filter((f) => profile[f] !== undefined).map((f) => [f, profile[f]]));
    return send(res, 200, JSON.stringify(body), 'application/json');
  }
  return fbError(res, 404, 'Unknown path components');
}

const oidc = provider.callback();
const server = createServer((req, res) => {
  const url = new URL(req.url, issuer);
  let work;
  if (url.pathname.startsWith('/interaction/')) work = interaction(req, res, url);
  else if (url.pathname.startsWith('/facebook/')) work = facebook(req, res, url);
  else return oidc(req, res);
  return work.catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, page('Error', `<h1>${esc(err.message)}</h1>`));
  });
});
server.listen(port, '127.0.0.1', () => console.log(`local OpenID provider listening on ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
