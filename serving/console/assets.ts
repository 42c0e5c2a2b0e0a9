/**
 * The console's only scripts, served from `/console/assets/` (the pages' CSP allows no inline script):
 * `poll.js` refreshes a live section while a run goes on; `sign.js` signs a decision in the browser
 * with WebCrypto Ed25519, with a private key the user loads and the server never sees.
 */
const poll = `(() => {
  const live = document.getElementById('live');
  if (!live || !live.dataset.poll) return;
  const tick = async () => {
    const url = live.dataset.poll;
    if (!url) return;
    try {
      const res = await fetch(url, { credentials: 'same-origin' });
      if (res.ok) {
        const text = await res.text();
        if (text !== live.innerHTML) live.innerHTML = text;
        if (!/RUNNING|running|awaiting|pending/.test(text)) live.dataset.poll = '';
      }
    } catch (e) { /* keep the last view */ }
    if (live.dataset.poll) setTimeout(tick, 1500);
  };
  setTimeout(tick, 1500);
})();
`;

const sign = `(() => {
  const form = document.getElementById('decide');
  if (!form) return;
  const claim = JSON.parse(document.getElementById('claim').textContent);
  const out = document.getElementById('outcome');
  const keyFile = document.getElementById('key-file');
  const keyText = document.getElementById('key-text');
  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const fromB64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4)), (c) => c.charCodeAt(0));
  const show = (cls, text) => { out.className = cls; out.textContent = text; out.focus(); };
  if (keyFile) keyFile.addEventListener('change', async () => {
    const file = keyFile.files && keyFile.files[0];
    if (file) keyText.value = await file.text();
  });
  const loadKey = async (pem) => {
    const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\\s+/g, '');
    const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', key);
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', fromB64url(jwk.x)));
    const keyId = 'k-' + Array.from(hash.slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
    return { key, keyId };
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const decision = event.submitter && event.submitter.value === 'reject' ? 'reject' : 'approve';
    const comment = document.getElementById('comment').value;
    const body = { decision, modelVersion: claim.modelVersion };
    if (comment) body.comment = comment;
    try {
      const pem = keyText ? keyText.value.trim() : '';
      if (pem) {
        const { key, keyId } = await loadKey(pem);
        const at = new Date().toISOString();
        const payload = JSON.stringify([claim.format, claim.workflowId, claim.runId, claim.gate, claim.modelVersion,
          claim.metricsDigest, claim.approver, decision, at, comment ? comment : null, keyId]);
        document.getElementById('signed-payload').textContent = payload;
        const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(payload));
        body.signature = { keyId, at, value: b64url(sig), workflowId: claim.workflowId, runId: claim.runId, metricsDigest: claim.metricsDigest };
      } else if (claim.signed) {
        show('refusal', 'This gate requires a signed decision: load your private key file (from sluice keys create) first. It stays in this browser.');
        return;
      }
      show('notice', 'Sending…');
      const res = await fetch(form.action, { method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': form.elements.csrf.value },
        body: JSON.stringify(body) });
      const answer = await res.json();
      if (!res.ok || answer.error) {
        show('refusal', 'Refused: ' + (answer.error ? answer.error.message : res.status));
        return;
      }
      show('notice', (decision === 'approve' ? 'Approved' : 'Rejected') + (body.signature ? ' (signed with key ' + body.signature.keyId + ')' : '') + '. Recorded in the run\\'s history. Opening the run…');
      setTimeout(() => { location.href = '/console/runs/' + encodeURIComponent(claim.workflowId); }, 1200);
    } catch (error) {
      show('refusal', 'Could not sign in this browser: ' + (error && error.message ? error.message : error) + '. Load the PKCS#8 PEM file that sluice keys create wrote.');
    }
  });
})();
`;

export const assets: Record<string, string> = { 'poll.js': poll, 'sign.js': sign };
