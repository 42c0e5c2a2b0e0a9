import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes carried by every Sluice run (docs/architecture.md). They make runs findable in the Web UI and
 * by `sluice runs` visibility queries; the dev server registers them at start, a cluster through
 * `ensureSearchAttributes`.
 */
export const SluicePipeline = defineSearchAttributeKey('SluicePipeline', SearchAttributeType.KEYWORD);
export const SluiceModel = defineSearchAttributeKey('SluiceModel', SearchAttributeType.KEYWORD);
export const SluiceStage = defineSearchAttributeKey('SluiceStage', SearchAttributeType.KEYWORD);
export const SluiceApproval = defineSearchAttributeKey('SluiceApproval', SearchAttributeType.KEYWORD);
export const SluiceTrigger = defineSearchAttributeKey('SluiceTrigger', SearchAttributeType.KEYWORD);

export const sluiceSearchAttributes = [
  SluicePipeline,
  SluiceModel,
  SluiceStage,
  SluiceApproval,
  SluiceTrigger,
];

export const approvalStates = ['none', 'awaiting', 'approved', 'rejected', 'expired'] as const;
export type ApprovalState = (typeof approvalStates)[number];

export const triggerKinds = ['manual', 'schedule', 'event', 'drift'] as const;
export type TriggerKind = (typeof triggerKinds)[number];
