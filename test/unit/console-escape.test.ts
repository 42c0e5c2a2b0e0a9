import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonForScript } from '../../serving/console/escape.js';
import { jsonView, page } from '../../serving/console/layout.js';
import { csrfMatches, readCookie, sessionCookieHeader, SessionStore } from '../../serving/console/session.js';

describe('the console escapes everything people write', () => {
  it('escapes the five HTML metacharacters and the backtick', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;',
    );
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(3)).toBe('3');
  });

  it('html`` escapes every interpolated value, in content and in attributes, but not its own markup', () => {
    const comment = '<img src=x onerror=alert(1)>';
    const attr = html`<p title="${'" onmouseover="x'}">${comment}</p>`.text;
    expect(attr).toBe('<p title="&quot; onmouseover=&quot;x">&lt;img src=x onerror=alert(1)&gt;</p>');
    const nested = html`${[html`<b>${'<i>'}</b>`, '<u>']}`.text;
    expect(nested).toBe('<b>&lt;i&gt;</b>&lt;u&gt;');
  });

  it('renders a gate subject (a pipeline description, params) as text, never markup', () => {
    const out = jsonView({ description: '<script>x()</script>', '<key>': [{ a: '</td>' }] }).text;
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;x()&lt;/script&gt;');
    expect(out).toContain('&lt;key&gt;');
    expect(out).toContain('&lt;/td&gt;');
  });

  it('JSON for a script block cannot close the block', () => {
    const text = jsonForScript({ comment: '</script><script>alert(1)</script>' }).text;
    expect(text).not.toContain('</script>');
    expect(JSON.parse(text)).toEqual({ comment: '</script><script>alert(1)</script>' });
  });

  it('the page title and the identity shown are escaped', () => {
    const out = page('<b>run</b>', { identity: '<eve>', roles: ['approver'], csrf: 'c"sr' }, '');
    expect(out).toContain('<title>&lt;b&gt;run&lt;/b&gt; · Sluice console</title>');
    expect(out).toContain('&lt;eve&gt;');
    expect(out).toContain('value="c&quot;sr"');
  });
});

describe('console sessions', () => {
  it('a session has its own CSRF token; a forged or missing one does not match', () => {
    const store = new SessionStore(1000);
    const session = store.create('sluice_tok', 'alice', 0);
    expect(store.get(session.id, 10)?.identity).toBe('alice');
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, 'forged')).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(store.get(session.id, 1000)).toBeUndefined();
  });

  it('the cookie is HttpOnly, SameSite=Strict and scoped to /console', () => {
    expect(sessionCookieHeader('abc', 60, false)).toBe(
      'sluice_console=abc; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(readCookie('a=1; sluice_console=xyz; b=2', 'sluice_console')).toBe('xyz');
    expect(readCookie(undefined, 'sluice_console')).toBeUndefined();
  });
});
