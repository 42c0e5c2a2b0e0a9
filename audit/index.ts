/**
 * Audit: export, verify, replay and report on runs from their workflow histories. Not activities —
 * nothing registers them on a worker; the CLI (and any other caller) uses this entry module.
 */
export { buildAuditReport, markArtifacts, type ReportSource } from './audit-report.js';
export {
  collectHistories,
  registeredModels,
  type CollectedHistory,
  type Selection,
} from './collect-histories.js';
export { decryptHistory, requireKeys } from './encrypted-history.js';
export { ExportTamperedError, ReplayDivergedError } from './errors.js';
export { eventTypeName, historyJson, parseHistory } from './history.js';
export { historyFacts } from './history-facts.js';
export { describeProblems, readManifest, verifyExport, type ExportManifest } from './manifest.js';
export { readAuditInputs } from './read-inputs.js';
export {
  checkApprovalSignatures,
  checkManifestSignature,
  manifestSignatureName,
  signExport,
  type ApprovalSignatureCheck,
  type ManifestSignatureCheck,
} from './signatures.js';
export { renderHtml } from './render-html.js';
export { renderMarkdown } from './render-markdown.js';
export { replayHistories, type ReplayOutcome, type ReplayTarget } from './replay-histories.js';
export { reportBlocks } from './report-document.js';
export type { AuditReport, ExportInfo } from './report-types.js';
export { currentWorkflowCode, workflowTypes } from './workflow-bundle.js';
export { writeExport, type ExportHeader } from './write-export.js';
