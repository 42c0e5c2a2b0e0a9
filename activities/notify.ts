import { Context } from '@temporalio/activity';

export interface ApprovalNotice {
  step: string;
  kind: 'reminder' | 'expired';
  to: string[];
  escalateTo: string[];
  deadline: string;
  modelVersion: string;
}

/** The activity the approval gate calls at half-time and at expiry. */
export interface NotifyApprovers {
  notifyApprovers(notice: ApprovalNotice): Promise<void>;
}

/**
 * Tell approvers (and the escalation list) that a gate waits or has expired. Today the channel is the
 * worker's log (pino JSON, one line per notice, which log shipping can route to chat or mail).
 */
export function createNotifyActivities(): NotifyApprovers {
  return {
    notifyApprovers(notice) {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      Context.current().log.warn(
        notice.kind === 'reminder' ? 'approval reminder: a gate is half-way to expiry' : 'approval expired',
        { ...notice, workflowId },
      );
      return Promise.resolve();
    },
  };
}
