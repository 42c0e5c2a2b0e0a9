import { copyFile, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { trainOnDataset, type TrainJob } from '../../activities/train/train-core.js';
import type { LoopCheckpoint } from '../../activities/train/training-loop.js';
import { planMemory } from '../../activities/train/memory-plan.js';
import { chunkOf, chunkOfSql } from '../../activities/train/chunk-hash.js';
import { keyOrder } from '../../activities/train/streamed-split.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import {
  featuresSchema,
  labelSchema,
  splitSchema,
  trainerSchema,
  type TrainerConfig,
} from '../../pipelines/train-spec.js';
import { dataDir } from '../support/paths.js';

/**
 * Streamed training (docs/training.md, "Memory"): a split over `trainer.memory` is read from its
 * Parquet snapshot chunk by chunk every epoch. 5,000 flights, 44 encoded inputs (184 bytes a row with
 * label and weight, 192 streamed with its key): '160KiB' holds 853 streamed rows, so the 4,045
 * training rows are read in 6 chunks (each planned at 90% of that, 767 rows: hash chunks vary).
 */
const BUDGET = '160KiB';

let dir: string;
let snapshot: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-streamed-'));
  snapshot = join(dir, 'flights.parquet');
  await writeFlights(snapshot, 'flights-5k.json');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function writeFlights(path: string, file: string): Promise<void> {
  const json = join(dataDir, file);
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * REPLACE (strptime(date, '%Y/%m/%d %H:%M') AS date) FROM read_json_auto(${sqlString(json)})) TO ${sqlString(path)} (FORMAT parquet)`,
    ),
  );
}

function flightsJob(
  trainer: TrainerConfig,
  path = snapshot,
  label: object = { sql: 'delay > 15', task: 'binary' },
): TrainJob {
  return {
    dataset: { path, uri: 'flights.parquet', sha256: 'test', bytes: 0 },
    features: featuresSchema.parse({
      numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
      categorical: ['origin', 'destination'],
    }),
    label: labelSchema.parse(label),
    split: splitSchema.parse({ kind: 'hash', key: 'date::VARCHAR || origin || destination', seed: 1 }),
    trainer: trainerSchema.parse(trainer),
  };
}

const weights = (outcome: Awaited<ReturnType<typeof trainOnDataset>>) =>
  Buffer.from(outcome.files!.weightData);

// Each streamed epoch runs one query per chunk; DuckDB plans each (~40 ms here), so these take seconds.
describe(
  'a training split over trainer.memory is streamed from the snapshot in chunks',
  { timeout: 90_000 },
  () => {
    const cases: [string, TrainerConfig][] = [
      ['logistic (typed-array, rows read in place)', { model: 'logistic', epochs: 4, batchSize: 64 }],
      [
        'MLP (typed-array, copied batches, dropout)',
        { model: 'mlp', engine: 'typed-array', layers: [16], dropout: 0.1, epochs: 4, batchSize: 64 },
      ],
    ];
    it.each(cases)(
      '%s: as good as in memory, and the same model on every run with one seed',
      async (_, trainer) => {
        const whole = await trainOnDataset(flightsJob(trainer));
        const streamed = await trainOnDataset(flightsJob({ ...trainer, memory: BUDGET }));
        const again = await trainOnDataset(flightsJob({ ...trainer, memory: BUDGET }));
        const other = await trainOnDataset(flightsJob({ ...trainer, memory: BUDGET, seed: 7 }));
        expect(whole.metadata.training.streamed).toBeUndefined();
        expect(streamed.metadata.training.streamed).toEqual({ chunks: 6, budgetBytes: 160 * 1024 });
        // Another order of the same rows: not the same weights, the same quality (log loss at chance: 0.57).
        expect(streamed.metadata.metrics.validationLoss).toBeLessThan(0.55);
        expect(
          Math.abs(streamed.metadata.metrics.validationLoss - whole.metadata.metrics.validationLoss),
        ).toBeLessThan(0.01);
        expect(weights(streamed).equals(weights(again))).toBe(true);
        expect(streamed.metadata).toEqual(again.metadata);
        expect(weights(streamed).equals(weights(other))).toBe(false);
        // Linear models carry their training means (from SQL when streamed): the same numbers.
        if (trainer.model === 'logistic') {
          const means = streamed.metadata.inputMeans!;
          whole.metadata.inputMeans!.forEach((mean, j) => expect(means[j]).toBeCloseTo(mean, 5));
        }
      },
    );

    it('resuming from a mid-run checkpoint ends with exactly the weights of an uninterrupted run', async () => {
      for (const trainer of cases.map(([, t]) => ({
        ...t,
        memory: BUDGET,
        earlyStopping: { patience: 10 },
      }))) {
        const saved: LoopCheckpoint[] = [];
        let job = '';
        const whole = await trainOnDataset(flightsJob(trainer), {
          onEpoch: (id, checkpoint) => {
            job = id;
            return Promise.resolve(void saved.push(checkpoint));
          },
        });
        expect(saved.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
        let offeredTo = '';
        const resumed = await trainOnDataset(flightsJob(trainer), {
          resume: (id) => {
            offeredTo = id;
            return Promise.resolve(saved[1]);
          },
        });
        expect(offeredTo).toBe(job);
        expect(resumed.result.resumedFrom).toBe(2);
        expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
        expect(weights(resumed).equals(weights(whole))).toBe(true);
      }
    });

    it('class weights and a regression label train streamed too', async () => {
      const weighted = await trainOnDataset(
        flightsJob({ model: 'logistic', epochs: 2, batchSize: 64, memory: BUDGET, classWeight: 'balanced' }),
      );
      const plain = await trainOnDataset(
        flightsJob({ model: 'logistic', epochs: 2, batchSize: 64, memory: BUDGET }),
      );
      const bias = (o: typeof plain) => new Float32Array(o.files!.weightData.slice().buffer).at(-1)!;
      expect(bias(weighted)).toBeGreaterThan(bias(plain)); // the rare class (delayed) weighs more
      const regression = await trainOnDataset(
        flightsJob({ model: 'linear', epochs: 3, batchSize: 64, memory: BUDGET }, snapshot, {
          sql: 'delay',
          task: 'regression',
        }),
      );
      expect(regression.metadata.training.streamed?.chunks).toBe(6);
      expect(Number.isFinite(regression.metadata.metrics.validationLoss)).toBe(true);
    });

    it('a split within the budget trains exactly as it always did', async () => {
      const trainer: TrainerConfig = { model: 'logistic', epochs: 3, batchSize: 64 };
      const unset = await trainOnDataset(flightsJob(trainer));
      const roomy = await trainOnDataset(flightsJob({ ...trainer, memory: '1GiB' }));
      expect(roomy.metadata.training.streamed).toBeUndefined();
      expect(weights(roomy).equals(weights(unset))).toBe(true);
    });

    it('heartbeats while it streams, and stops when cancelled, even in the middle of reading a chunk', async () => {
      const job = flightsJob({
        model: 'logistic',
        epochs: 50,
        batchSize: 64,
        memory: BUDGET,
        earlyStopping: { patience: 50 },
      });
      const cancel = async (when: (beats: number, epochs: number) => boolean) => {
        const controller = new AbortController();
        let beats = 0;
        let epochs = 0;
        const outcome = await trainOnDataset(job, {
          signal: controller.signal,
          onBatch: () => {
            if (when(++beats, epochs)) controller.abort(new Error('cancelled by the test'));
          },
          onEpoch: () => {
            if (when(beats, ++epochs)) controller.abort(new Error('cancelled by the test'));
            return Promise.resolve();
          },
        }).catch((error: unknown) => error);
        expect((outcome as Error).message).toBe('cancelled by the test');
        return { beats, epochs };
      };
      // After the second epoch's checkpoint: the third never starts.
      expect((await cancel((_, epochs) => epochs === 2)).epochs).toBe(2);
      // At the first rows read (the hooks run after each 2,048 rows read): nothing more is read.
      const early = await cancel((beats) => beats === 1);
      expect(early.epochs).toBe(0);
      expect(early.beats).toBe(1);
    });

    it('a snapshot that changes or disappears mid-training fails the step, naming it', async () => {
      const changing = join(dir, 'changing.parquet');
      await copyFile(snapshot, changing);
      const trainer: TrainerConfig = { model: 'logistic', epochs: 4, batchSize: 64, memory: BUDGET };
      const changed = trainOnDataset(flightsJob(trainer, changing), {
        onEpoch: async (_, checkpoint) => {
          if (checkpoint.epoch === 1) await writeFlights(changing, 'flights-2k.json');
        },
      });
      await expect(changed).rejects.toThrow(
        /snapshot .*changing\.parquet changed while training streamed it \(epoch 2/i,
      );
      const vanishing = join(dir, 'vanishing.parquet');
      await copyFile(snapshot, vanishing);
      const gone = trainOnDataset(flightsJob(trainer, vanishing), {
        onEpoch: async (_, checkpoint) => {
          if (checkpoint.epoch === 1) await unlink(vanishing);
        },
      });
      await expect(gone).rejects.toThrow(
        /snapshot .*vanishing\.parquet disappeared while training streamed it/,
      );
    });

    it('a text file (no snapshot yet) streams from its table by row id', async () => {
      const json = join(dir, 'flights.json');
      await withDuckDB((db) =>
        db.run(
          `COPY (SELECT * FROM read_parquet(${sqlString(snapshot)})) TO ${sqlString(json)} (FORMAT json)`,
        ),
      );
      const trainer: TrainerConfig = { model: 'logistic', epochs: 3, batchSize: 64, memory: BUDGET };
      const a = await trainOnDataset(flightsJob(trainer, json));
      const b = await trainOnDataset(flightsJob(trainer, json));
      expect(a.metadata.training.streamed?.chunks).toBe(6);
      expect(weights(a).equals(weights(b))).toBe(true);
    });
  },
);

describe('trainer.memory is checked', () => {
  it('refuses a value that is not a size, naming the field', () => {
    for (const memory of ['lots', '-5MiB', '12 parsecs', 0, 1.5, '']) {
      const parsed = trainerSchema.safeParse({ model: 'logistic', memory });
      expect(parsed.success, String(memory)).toBe(false);
      const issue = parsed.error!.issues[0]!;
      expect(issue.path).toEqual(['memory']);
      expect(issue.message).toMatch(/expected a size such as '512MiB'/);
    }
    for (const memory of ['512MiB', '2GiB', '1.5GB', '800 mb', 65536]) {
      expect(trainerSchema.safeParse({ model: 'mlp', memory }).success, String(memory)).toBe(true);
    }
  });

  it('refuses a budget that holds no batch, a validation split over it, and a tree model over it', async () => {
    const plan = (trainer: TrainerConfig, rows = { train: 4000, validation: 500 }) =>
      planMemory({
        spec: trainerSchema.parse(trainer),
        rows,
        width: 44,
        where: 'step "train" of x.pipeline.ts',
      });
    expect(plan({ model: 'logistic' })).toEqual({ mode: 'memory', budget: 512 * 2 ** 20 });
    expect(plan({ model: 'logistic', memory: '160KiB', batchSize: 64 })).toEqual({
      mode: 'streamed',
      budget: 160 * 1024,
      chunks: 6,
      chunkRows: 853,
    });
    expect(() => plan({ model: 'logistic', memory: '16KiB', batchSize: 256 })).toThrow(
      /trainer\.memory of step "train" of x\.pipeline\.ts \("16KiB"\) holds 85 streamed rows of 44 inputs \(192 bytes each with label, weight and key\), fewer than one batch \(batchSize 256\): raise trainer\.memory to at least '48KiB' or lower batchSize/,
    );
    expect(() => plan({ model: 'logistic', memory: '64KiB', batchSize: 16 })).toThrow(
      /the validation split \(500 rows × 44 inputs, 90 KiB\) is over trainer\.memory .*raise trainer\.memory to at least '90KiB' or give the validation split a smaller share/,
    );
    expect(() => plan({ model: 'gbdt', memory: '160KiB' })).toThrow(InvalidInputError);
    expect(() => plan({ model: 'gbdt' }, { train: 3_000_000, validation: 1000 })).toThrow(
      /over trainer\.memory .*\(the default 512 MiB\), and tree models \(gbdt\) load their training split whole .*set trainer\.memory to at least '527MiB'/,
    );
    await expect(trainOnDataset(flightsJob({ model: 'gbdt', rounds: 2, memory: BUDGET }))).rejects.toThrow(
      /tree models \(gbdt\) load their training split whole/,
    );
  });
});

describe('the chunks of a streamed epoch', () => {
  it('deal every row into one chunk, evenly, afresh each epoch; DuckDB and JavaScript agree', async () => {
    const rows = 20_000;
    const chunks = 5;
    const dealt = (key: number) => Array.from({ length: rows }, (_, row) => chunkOf(row, key, chunks));
    const [first, second] = [dealt(11), dealt(12)];
    const sizes = new Array<number>(chunks).fill(0);
    for (const chunk of first) sizes[chunk]! += 1;
    for (const size of sizes) expect(Math.abs(size - rows / chunks)).toBeLessThan(200); // ~3.5 sd
    // Rows that share a chunk in epoch 11 are spread over every chunk in epoch 12.
    const next = new Set(first.flatMap((chunk, row) => (chunk === 0 ? [second[row]] : [])));
    expect(next.size).toBe(chunks);
    const sql = await withDuckDB(async (db) => {
      const read = await db.runAndReadAll(
        `SELECT ${chunkOfSql('r', 11, chunks)}::INTEGER FROM range(${rows}) t(r) ORDER BY r`,
      );
      return read.getColumnsJS()[0]!.map(Number);
    });
    expect(sql).toEqual(first);
    expect(chunkOfSql('file_row_number', 2 ** 32 - 1, 7)).toMatch(/4294967295::UBIGINT/);
  });

  it('order a chunk by row key whatever order DuckDB gives its rows in', () => {
    const keys = Float64Array.from([40, 10, 30, 20, 50]);
    expect([...keyOrder(keys, 5)]).toEqual([1, 3, 2, 0, 4]);
    expect([...keyOrder(Float64Array.from([1, 2, 3]), 3)]).toEqual([0, 1, 2]);
    const big = Float64Array.from([2 ** 40, 5, 2 ** 33]); // keys past 2³²: the comparator sort
    expect([...keyOrder(big, 3)]).toEqual([1, 2, 0]);
  });
});
