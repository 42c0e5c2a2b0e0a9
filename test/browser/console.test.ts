import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRun, startRun } from '../../client/runs.js';
import type { DagStatus } from '../../workflows/index.js';
import { approvalPipeline, roles } from '../integration/fixtures/approval.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { freePort, projectRoot } from '../support/paths.js';
import { useTestWorker } from '../support/worker.js';

/**
 * Issue 15, item 5: the console in a real Chromium (Debian's `chromium`, driven by playwright-core),
 * on a real dev server, a real worker and a real `sluice console`: log in with a token, find the run
 * awaiting approval, sign the approval in the browser with a key made by `sluice keys create`, watch the
 * run finish; a token without the approver role sees no button and a forged form is refused; HTML in a
 * comment is shown as text; the compare page shows two runs' metrics. Screenshots of every page go to
 * `test-results/console/`.
 */
const chromiumPath = process.env['SLUICE_CHROMIUM'] ?? '/usr/bin/chromium';
const shots = join(projectRoot, 'test-results', 'console');
const t = useTestWorker(async (config) => {
  await writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles }));
});

let console_: LiveSluice;
let url = '';
let browser: Browser;
const tokens: Record<string, string> = {};
let keyFile = '';
const pipeline = approvalPipeline('console-gate', { signed: true });

async function run(args: string[]): Promise<string> {
  const result = await sluice(args, t.env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

async function statusOf(workflowId: string, ready: (s: DagStatus) => boolean): Promise<DagStatus> {
  const handle = t.client.workflow.getHandle(workflowId);
  for (let i = 0; i < 1200; i++) {
    const status = await handle.query<DagStatus>('status').catch(() => undefined);
    if (status && ready(status)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${workflowId} never reached the expected state`);
}

async function logIn(page: Page, who: string): Promise<void> {
  await page.goto(`${url}/console/`);
  await expect.poll(() => page.url()).toContain('/console/login');
  await page.getByLabel('API token').fill(tokens[who]!);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  for (const [who, roleList] of [
    ['alice', ['approver', 'promoter']],
    ['dave', ['trigger']],
  ] as const) {
    const doc = JSON.parse(
      await run(['token', 'create', '--identity', who, ...roleList.flatMap((r) => ['--role', r]), '--json']),
    ) as { token: string };
    tokens[who] = doc.token;
  }
  keyFile = join(t.config.home, 'alice.pem');
  await run(['keys', 'create', '--identity', 'alice', '--out', keyFile, '--json']);
  const port = await freePort();
  console_ = startSluice(['console', '--poll', '0'], { ...t.env, SLUICE_SERVE_PORT: String(port) });
  await console_.waitFor(/open http:\/\/\S+\/console\//);
  url = `http://127.0.0.1:${port}`;
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set SLUICE_CHROMIUM)`);
  }
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await console_?.stop('SIGTERM');
});

describe('the console in Chromium', () => {
  it('an approver logs in, finds the run, signs the approval in the browser and watches the run finish; others are refused', async () => {
    const first = await startRun(t.client, t.config, pipeline, { runParams: {}, startedBy: 'carol' });
    const second = await startRun(t.client, t.config, pipeline, { runParams: {}, startedBy: 'carol' });
    for (const h of [first, second])
      await statusOf(h.workflowId, (s) => s.approvals[0]?.state === 'awaiting');

    const alice = await browser.newPage();
    await logIn(alice, 'alice');
    await shot(alice, '01-runs');
    await alice.getByRole('link', { name: 'Awaiting my approval' }).first().click();
    await alice.getByRole('heading', { name: 'Runs awaiting my approval' }).waitFor();
    await expect.poll(() => alice.getByRole('link', { name: first.workflowId }).count()).toBe(1);
    await shot(alice, '02-awaiting-my-approval');

    await alice.goto(`${url}/console/runs/${first.workflowId}`);
    await alice.getByRole('heading', { name: 'Steps' }).waitFor();
    await shot(alice, '03-run-awaiting');
    await alice.getByRole('link', { name: 'Open the approval view' }).click();
    await alice.getByRole('heading', { name: 'Exactly what is signed' }).waitFor();
    await alice.getByLabel(/Private key file/).setInputFiles(keyFile);
    await expect.poll(() => alice.getByLabel('…or paste it').inputValue()).toContain('BEGIN PRIVATE KEY');
    const comment = '<script>alert("x")</script><b>looks fine</b>';
    await alice.getByLabel(/^Comment/).fill(comment);
    await shot(alice, '04-approval-view');
    await alice.getByRole('button', { name: 'Approve' }).click();
    await alice.getByText(/Approved \(signed with key k-[0-9a-f]{16}\)/).waitFor();
    await shot(alice, '05-approved');

    // The run page follows the run to its end by itself (live status), and shows the comment as text.
    await alice.waitForURL(`**/console/runs/${first.workflowId}`);
    await alice.locator('#live').getByText('succeeded', { exact: true }).first().waitFor({ timeout: 60_000 });
    const final = await followRun(t.client.workflow.getHandle(first.workflowId), () => undefined);
    expect(final.state).toBe('succeeded');
    expect(final.approvals[0]!.decisions[0]).toMatchObject({ approver: 'alice', comment, channel: 'update' });
    expect(final.approvals[0]!.decisions[0]!.signature?.keyId).toMatch(/^k-[0-9a-f]{16}$/);
    const shown = alice.locator('td.comment');
    expect(await shown.textContent()).toBe(comment);
    expect(await shown.locator('b, script').count()).toBe(0);
    await shot(alice, '06-run-succeeded');

    await alice.goto(`${url}/console/runs/${first.workflowId}/audit`);
    await alice.getByRole('heading', { name: `Audit report of ${first.workflowId}` }).waitFor();
    expect(await alice.locator('article.audit').textContent()).toContain('looks fine');
    await shot(alice, '07-audit');
    await alice.goto(`${url}/console/registry`);
    await alice.getByRole('heading', { name: 'Model registry' }).waitFor();
    await shot(alice, '08-registry');

    await alice.goto(
      `${url}/console/compare?pipeline=console-gate&runs=${first.workflowId}&runs=${second.workflowId}`,
    );
    await shot(alice, '09-compare');
    const metrics = alice.locator('table', { has: alice.locator('caption', { hasText: 'metrics:' }) });
    await metrics.waitFor();
    expect(await metrics.getByRole('columnheader').allTextContents()).toEqual([
      'Name',
      first.workflowId,
      second.workflowId,
      'Differs',
    ]);
    expect(await metrics.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await alice.locator('svg[role=img] circle').count()).toBe(2);
    await shot(alice, '09-compare');

    // dave holds only `trigger`: no decision button, and a forged form is refused with the reason shown.
    const dave = await (await browser.newContext()).newPage();
    await logIn(dave, 'dave');
    await dave.goto(`${url}/console/runs/${second.workflowId}/approval`);
    await dave.getByRole('heading', { name: 'Exactly what is signed' }).waitFor();
    await shot(dave, '10-no-approver-role');
    expect(await dave.getByRole('note').textContent()).toMatch(
      /deciding an approval needs a token with role\s+approver/,
    );
    expect(await dave.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    // A form posted from this page with a made-up CSRF token (what a forging page would send).
    await dave.evaluate(`(() => {
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/console/runs/${second.workflowId}/decide';
      for (const [name, value] of [['csrf', 'forged'], ['decision', 'approve']]) {
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    })()`);
    await dave.getByText(/CSRF token does not match dave's session/).waitFor();
    await shot(dave, '11-forged-csrf-refused');
    // With dave's real CSRF token the request reaches the API, which refuses the missing role.
    await dave.goBack();
    const csrf = await dave.locator('input[name=csrf]').first().inputValue();
    const answer = await dave.request.post(`${url}/console/runs/${second.workflowId}/decide`, {
      headers: { accept: 'application/json', 'x-csrf-token': csrf },
      data: { decision: 'approve' },
    });
    expect(answer.status()).toBe(403);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(
      /^dave may not decide an approval: that needs role approver/,
    );
    const still = await statusOf(second.workflowId, () => true);
    expect(still.approvals[0]!.state).toBe('awaiting');
    await t.client.workflow.getHandle(second.workflowId).cancel();
  });
});
