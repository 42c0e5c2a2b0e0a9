import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sluiceBin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));
export const dataDir = fileURLToPath(new URL('../../node_modules/vega-datasets/data/', import.meta.url));

/** A TCP port nothing listens on right now. */
export { freePort } from '../../infra/temporal/cluster.js';
