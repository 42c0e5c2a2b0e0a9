import { mono, nowrap, tone, type Block } from './report-blocks.js';
import { decided, describeContent, utc } from './report-format.js';
import type { MessageReport, RunReport } from './report-types.js';

/**
 * Who decided what at each approval gate, and every attempt that was refused with the reason the
 * workflow gave — the part of the report an auditor reads first.
 */
export function approvalBlocks(run: RunReport): Block[] {
  const blocks: Block[] = [
    { kind: 'heading', level: 3, text: 'Approvals: who decided, and what was refused' },
  ];
  if (run.approvals.length === 0 && run.refusedOutsideGate.length === 0) {
    blocks.push({ kind: 'paragraph', text: 'No approval gate opened in this run.' });
    return blocks;
  }
  for (const gate of run.approvals) {
    const verdict = gate.state === 'approved' ? 'good' : gate.state === 'awaiting' ? 'warn' : 'bad';
    blocks.push({
      kind: 'callout',
      tone: verdict,
      title: `Gate "${gate.step}": ${gate.state}.`,
      text: `It asked about model version ${gate.modelVersion} (metrics digest ${gate.metricsDigest}).`,
    });
    blocks.push({
      kind: 'facts',
      rows: [
        ['Who may approve (policy)', gate.approvers.join(', ')],
        ['Eligible people at the time', gate.eligible.join(', ') || 'no one'],
        [
          'Not allowed to approve (started the run or own the pipeline)',
          gate.excluded.join(', ') || 'no one',
        ],
        ['Approvals needed', gate.quorum === null ? '—' : String(gate.quorum)],
        ['Opened', utc(gate.openedAt)],
        ['Deadline', `${utc(gate.deadline)}${gate.expiresIn ? ` (${gate.expiresIn} after opening)` : ''}`],
        ['Escalation to', gate.escalateTo.join(', ') || 'no one'],
        ...(gate.signed
          ? [['Signatures', 'required: Ed25519, by keys recorded at run start'] as [string, string]]
          : []),
      ],
    });
    blocks.push({ kind: 'paragraph', text: 'Decisions accepted:' });
    blocks.push({
      kind: 'table',
      head: [
        'When',
        'Who',
        'Decision',
        'Comment',
        'Model version',
        'Metrics digest',
        'Sent as',
        'Signed with',
      ],
      rows: gate.decisions.map((d) => [
        nowrap(utc(d.at)),
        d.approver,
        tone(decided(d.decision), d.decision === 'approve' ? 'good' : 'bad'),
        d.comment ?? '—',
        mono(d.modelVersion),
        mono(d.metricsDigest),
        d.channel,
        d.signedWith ? mono(d.signedWith) : 'unsigned',
      ]),
      empty: 'No decision was accepted.',
    });
    blocks.push({ kind: 'paragraph', text: 'Attempts refused:' });
    blocks.push({
      kind: 'table',
      head: ['When', 'Who', 'Tried to', 'Model version', 'Sent as', 'Why it was refused'],
      rows: gate.refused.map((r) => [
        nowrap(utc(r.at)),
        r.approver || '(no one named)',
        r.decision || '—',
        mono(r.modelVersion),
        r.channel,
        tone(r.reason, 'bad'),
      ]),
      empty: 'No attempt was refused.',
    });
    if (gate.notices.length > 0) {
      blocks.push({
        kind: 'list',
        items: gate.notices.map((n) => `${utc(n.at)}: ${n.kind} sent to ${n.to.join(', ') || 'no one'}`),
      });
    }
  }
  if (run.refusedOutsideGate.length > 0) {
    blocks.push({ kind: 'paragraph', text: 'Decisions sent while no gate was open (refused):' });
    blocks.push({
      kind: 'table',
      head: ['When', 'Who', 'Tried to', 'Sent as', 'Why it was refused'],
      rows: run.refusedOutsideGate.map((r) => [
        utc(r.at),
        r.approver,
        r.decision || '—',
        r.channel,
        tone(r.reason, 'bad'),
      ]),
      empty: '',
    });
  }
  return blocks;
}

/** Every signal and update, in history order: when, from which client, for whom, what, and the outcome. */
export function messageBlocks(messages: readonly MessageReport[], heading: string | null): Block[] {
  const blocks: Block[] = heading ? [{ kind: 'heading', level: 3, text: heading }] : [];
  blocks.push({
    kind: 'table',
    head: ['When', 'Event', 'Message', 'For', 'Sent from (client)', 'Content', 'Outcome'],
    rows: messages.map((m) => [
      nowrap(utc(m.at)),
      String(m.eventId),
      `${m.name} (${m.kind})`,
      m.actor ?? '—',
      mono(m.sender || 'not recorded'),
      describeContent(m.content),
      tone(
        m.outcome,
        m.outcome.startsWith('refused') ? 'bad' : m.outcome.startsWith('accepted') ? 'good' : 'info',
      ),
    ]),
    empty: 'No signals or updates were received.',
  });
  return blocks;
}
