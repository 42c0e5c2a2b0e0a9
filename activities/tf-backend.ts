import { createRequire } from 'node:module';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TfBackend {
  name: TfBackendName;
  /** Why faster backends were passed over, for the log and the model's metadata. */
  skipped: string[];
  tfjsVersion: string;
}

const require = createRequire(import.meta.url);
let chosen: Promise<TfBackend> | undefined;

/**
 * Choose the TF.js backend once per process (docs/architecture.md decision 8): `@tensorflow/tfjs-node` when it is
 * installed and its native library loads, else WASM, else the pure-JS CPU backend.
 */
export function selectTfBackend(): Promise<TfBackend> {
  chosen ??= choose();
  return chosen;
}

async function choose(): Promise<TfBackend> {
  const skipped: string[] = [];
  try {
    require('@tensorflow/tfjs-node');
    const tf = await import('@tensorflow/tfjs');
    if (await tf.setBackend('tensorflow'))
      return { name: 'tensorflow', skipped, tfjsVersion: tf.version.tfjs };
    skipped.push('tfjs-node: backend did not initialise');
  } catch (error) {
    skipped.push(`tfjs-node: ${firstLine(error)}`);
  }
  const tf = await import('@tensorflow/tfjs');
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) return { name: 'wasm', skipped, tfjsVersion: tf.version.tfjs };
    skipped.push('wasm: backend did not initialise');
  } catch (error) {
    skipped.push(`wasm: ${firstLine(error)}`);
  }
  await tf.setBackend('cpu');
  return { name: 'cpu', skipped, tfjsVersion: tf.version.tfjs };
}

function firstLine(error: unknown): string {
  return ((error as Error).message ?? String(error)).split('\n')[0] ?? 'unknown error';
}
