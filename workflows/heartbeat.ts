/**
 * The heartbeat timeout of the activities workflow code schedules itself (deploy, monitor): with every
 * activity heartbeating while it runs (activities/boundary.ts) and training on its own thread, a
 * killed worker's attempt is retried within this long. Pipeline steps take theirs from the spec
 * (`heartbeat`, default 20 s).
 */
export const SHORT_HEARTBEAT = '20s';

/** The patch that moved those activities from a minute to {@link SHORT_HEARTBEAT}. */
export const SHORT_HEARTBEAT_PATCH = 'heartbeat-20s';
