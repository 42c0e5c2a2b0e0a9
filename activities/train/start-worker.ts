import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * A worker thread running module `name` of this folder: the compiled `.js`, or the `.ts` source through
 * tsx when this file runs from source (tests, benches). `workerData` reaches the module as is.
 */
export function startWorker(
  name: string,
  workerData: Record<string, unknown>,
  transferList: TransferListItem[] = [],
): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData, transferList });
  // Loader hooks given as execArgv are not in place before a thread's entry loads (Node 20), so a
  // small script registers tsx first and then imports the TypeScript entry.
  const api = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsx = pathToFileURL(api.replace(/\.cjs$/, '.mjs')).href;
  const script = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((api) => { api.register(); return import(workerData.entry); });
`;
  return new Worker(script, {
    eval: true,
    workerData: { ...workerData, tsx, entry: entry.href },
    transferList,
  });
}
