import type { JsonObject } from '../../../pipelines/json.js';
import type { FeatureBins, GbdtFeature } from './features.js';
import type { Forest, GbdtObjective } from './forest.js';

/**
 * A forest as JSON: each flat typed array as base64 of its little-endian bytes, so a model of a
 * thousand trees is a few hundred kilobytes and reads back bit for bit (doubles stay doubles).
 */
export interface ForestJson extends JsonObject {
  format: 'sluice-gbdt/1';
  objective: GbdtObjective;
  outputs: number;
  features: JsonObject[];
  mappers: JsonObject[];
  arrays: Record<string, string>;
}

type ArrayName =
  | 'initScore'
  | 'root'
  | 'startNodes'
  | 'startLeaves'
  | 'startCats'
  | 'feature'
  | 'threshold'
  | 'catOffset'
  | 'defaultLeft'
  | 'left'
  | 'right'
  | 'catBits'
  | 'leafValue'
  | 'nodeCover'
  | 'leafCover';

export function forestToJson(forest: Forest): ForestJson {
  const arrays: Record<ArrayName, ArrayBufferView> = {
    initScore: forest.initScore,
    root: forest.root,
    startNodes: forest.start.nodes,
    startLeaves: forest.start.leaves,
    startCats: forest.start.cats,
    feature: forest.feature,
    threshold: forest.threshold,
    catOffset: forest.catOffset,
    defaultLeft: forest.defaultLeft,
    left: forest.left,
    right: forest.right,
    catBits: forest.catBits,
    leafValue: forest.leafValue,
    nodeCover: forest.nodeCover,
    leafCover: forest.leafCover,
  };
  return {
    format: 'sluice-gbdt/1',
    objective: forest.objective,
    outputs: forest.outputs,
    features: forest.features.map((f) => ({ ...f })),
    mappers: forest.mappers.map((m) => ({ ...m })),
    arrays: Object.fromEntries(
      Object.entries(arrays).map(([name, a]) => [
        name,
        Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'),
      ]),
    ),
  };
}

export function forestFromJson(json: ForestJson): Forest {
  if (json.format !== 'sluice-gbdt/1') {
    throw new Error(`not a Sluice GBDT model (format ${String(json.format)})`);
  }
  const bytes = (name: ArrayName): Uint8Array => {
    const text = json.arrays[name];
    if (text === undefined) throw new Error(`GBDT model is missing its "${name}" array`);
    const raw = Buffer.from(text, 'base64');
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    return copy;
  };
  const i32 = (name: ArrayName) => new Int32Array(bytes(name).buffer);
  const f64 = (name: ArrayName) => new Float64Array(bytes(name).buffer);
  return {
    objective: json.objective,
    outputs: json.outputs,
    features: json.features as unknown as GbdtFeature[],
    mappers: json.mappers as unknown as FeatureBins[],
    initScore: f64('initScore'),
    root: i32('root'),
    start: { nodes: i32('startNodes'), leaves: i32('startLeaves'), cats: i32('startCats') },
    feature: i32('feature'),
    threshold: f64('threshold'),
    catOffset: i32('catOffset'),
    defaultLeft: bytes('defaultLeft'),
    left: i32('left'),
    right: i32('right'),
    catBits: new Uint32Array(bytes('catBits').buffer),
    leafValue: f64('leafValue'),
    // Forests stored before covers were kept have none: they predict, but cannot be explained.
    nodeCover: json.arrays['nodeCover'] === undefined ? new Float64Array(0) : f64('nodeCover'),
    leafCover: json.arrays['leafCover'] === undefined ? new Float64Array(0) : f64('leafCover'),
  };
}
