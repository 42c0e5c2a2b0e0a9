import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { withDuckDB } from '../lib/duckdb.js';
import { binaryMetrics, sortByScore } from '../activities/evaluate/binary-metrics.js';
import { evaluateOnDataset } from '../activities/evaluate/evaluate-core.js';
import { sha256File } from '../lib/hash.js';
import { selectTfBackend } from '../activities/tf-backend.js';
import { initDense } from '../activities/train/dense-params.js';
import { loadMatrix, type Matrix } from '../activities/train/load-matrix.js';
import { modelBody, saveModel } from '../lib/model/model-artifact.js';
import { prepareDataset, ROWS_VIEW } from '../activities/train/prepare.js';
import { createTfjsDenseTrainer } from '../activities/train/tfjs-dense.js';
import { trainOnDataset } from '../activities/train/train-core.js';
import type { Trainer } from '../activities/train/trainer.js';
import { runTrainingLoop } from '../activities/train/training-loop.js';
import { createTypedLinearTrainer } from '../activities/train/typed-linear.js';
import { createTypedMlpTrainer, mlpKernelOf, mlpSharingOf } from '../activities/train/typed-mlp.js';
import { deriveSeed, mulberry32, SEED_PURPOSE } from '../pipelines/prng.js';
import {
  featuresSchema,
  labelSchema,
  splitSchema,
  trainerSchema,
  type TrainerConfig,
} from '../pipelines/train-spec.js';
import { dataDir } from '../test/support/paths.js';
import { benchGbdtFlights } from './gbdt-flights.js';
import type { BenchResult } from './harness.js';
import { plainLogits, plainLoop } from './plain-loop.js';
import { benchPeakRss, FLIGHTS_TOTAL, flightsSpec, writeFlightsSample } from './train-memory.js';

/** Flights sampled from flights-3m.parquet (by hash, so the sample spans the whole half-year). */
const FLIGHT_ROWS = 1_000_000;
const QUICK_ROWS = 300_000;
const EPOCHS = 3;
/**
 * Epochs of the linear trainer and the plain loops beside it (`--linear-epochs N`): enough that the
 * median epoch is a warm one (V8 compiles the step during the first two) and the last epoch is
 * reported beside it; each is a fraction of a second, so --quick stays under two minutes.
 */
const LINEAR_EPOCHS = 8;
const BATCH = 256;
const MLP = 'MLP 64-32, dropout 0.1';

/**
 * The `train` bench (issue 4, item 9). On flights (delay > 15 min from hour, weekday, distance, origin,
 * destination): data loading rows/s (DuckDB → transform SQL → Float32Array), then rows/s per epoch
 * for logistic regression and an MLP on the chosen TF.js backend, beside the plain-TypedArray
 * logistic regression on the same matrix in the same process, each with its test AUC. Then macro AUC
 * on penguins (species) and seattle-weather (weather), through the real train → store → evaluate path.
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const quick = args.includes('--quick');
  const FLIGHT_ROWS_RUN = quick ? QUICK_ROWS : FLIGHT_ROWS;
  const linearEpochs = linearEpochsArg(args);
  const backend = await selectTfBackend();
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-train-'));
  try {
    // Peak RSS per trainer, each in its own process (issue 16, item 7): all 3M flights, 300k with --quick.
    const memory = args.includes('--gbdt')
      ? { rows: [], ratios: {}, notes: [] }
      : await benchPeakRss(home, quick ? QUICK_ROWS : FLIGHTS_TOTAL * memoryScaleArg(args));
    if (args.includes('--memory')) {
      return { name: 'train', description: 'peak RSS per trainer (--memory: only these rows)', ...memory };
    }
    // Gradient-boosted trees beside LightGBM (issue 14): the pipeline's sample, and all 3M with --full.
    const gbdt = await benchGbdtFlights(home, false);
    const gbdtFull = args.includes('--full') ? await benchGbdtFlights(home, true) : undefined;
    const gbdtRows = [...gbdt.rows, ...(gbdtFull?.rows ?? [])];
    const gbdtRatios = { ...gbdt.ratios, ...gbdtFull?.ratios };
    const gbdtNotes = [...gbdt.notes, ...(gbdtFull?.notes ?? [])];
    if (args.includes('--gbdt')) {
      return {
        name: 'train',
        description:
          'gradient-boosted trees against LightGBM on the flight-delay task (--gbdt: only these rows)',
        rows: gbdtRows,
        notes: gbdtNotes,
        ratios: gbdtRatios,
      };
    }
    const flights = join(home, 'flights.parquet');
    await writeFlightsSample(flights, FLIGHT_ROWS_RUN);
    const spec = flightsSpec;
    const { train, validation, test, prepareSeconds, loadSeconds } = await withDuckDB(async (db) => {
      const started = performance.now();
      const prepared = await prepareDataset(db, flights, spec);
      const fitted = performance.now();
      const load = (split: string) =>
        loadMatrix(db, prepared.transform, ROWS_VIEW, { where: `__split = '${split}'` });
      const matrices = {
        train: await load('train'),
        validation: await load('validation'),
        test: await load('test'),
      };
      return {
        ...matrices,
        prepareSeconds: (fitted - started) / 1000,
        loadSeconds: (performance.now() - fitted) / 1000,
      };
    });
    const loaded = train.rows + validation.rows + test.rows;
    const rows: BenchResult['rows'] = [
      {
        dataset: 'flights',
        step: 'prepare: read Parquet, hash split, fit transform on train',
        engine: 'duckdb',
        backend: '-',
        rows: FLIGHT_ROWS_RUN,
        'rows/s': Math.round(FLIGHT_ROWS_RUN / prepareSeconds),
        'test AUC': '-',
      },
      {
        dataset: 'flights',
        step: `load: transform SQL → Float32Array (${train.width} inputs)`,
        engine: 'duckdb',
        backend: '-',
        rows: loaded,
        'rows/s': Math.round(loaded / loadSeconds),
        'test AUC': '-',
      },
    ];
    const configs: {
      name: string;
      hidden: number[];
      engine: 'typed-array' | 'tfjs';
      epochs: number;
      threads?: 1 | 2;
    }[] = [
      { name: 'logistic regression', hidden: [], engine: 'typed-array', epochs: linearEpochs },
      { name: 'logistic regression', hidden: [], engine: 'tfjs', epochs: EPOCHS },
      { name: MLP, hidden: [64, 32], engine: 'tfjs', epochs: EPOCHS },
      // The typed-array MLP beside it in the same run: one thread, then both cores (typed-mlp.ts).
      { name: MLP, hidden: [64, 32], engine: 'typed-array', epochs: EPOCHS, threads: 1 },
      { name: MLP, hidden: [64, 32], engine: 'typed-array', epochs: EPOCHS, threads: 2 },
    ];
    const perEpochOf: Record<string, number> = {};
    const perCpuOf: Record<string, number> = {};
    const aucOf: Record<string, number> = {};
    // The linear trainer's every epoch, by wall time and by CPU time: the first builds its row records.
    // Which kernel the typed-array MLP rows ran (typed-mlp-simd.ts: WebAssembly SIMD unless it fell back).
    let mlpKernel = '-';
    let mlpShared = '-';
    let linearPerEpoch: number[] = [];
    let linearPerEpochCpu: number[] = [];
    for (const config of configs) {
      const sizes = [train.width, ...config.hidden, 1];
      const initial = initDense(sizes, mulberry32(deriveSeed(7, SEED_PURPOSE.init)));
      const options = {
        output: 'sigmoid' as const,
        learningRate: 0.005,
        l2: 0,
        dropout: config.hidden.length ? 0.1 : 0,
        activation: 'relu' as const,
      };
      const trainer: Trainer =
        config.engine === 'tfjs'
          ? createTfjsDenseTrainer(tf, initial, options)
          : config.threads
            ? createTypedMlpTrainer(initial, { ...options, threads: config.threads })
            : createTypedLinearTrainer(initial, options);
      if (config.threads) mlpKernel = mlpKernelOf(trainer) ?? '-';
      const key = `${config.engine} ${config.name}${config.threads ? `, ${config.threads} thread${config.threads > 1 ? 's' : ''}` : ''}`;
      const perCpu: number[] = [];
      let cpu = process.cpuUsage();
      const result = await runTrainingLoop(trainer, train, validation, {
        epochs: config.epochs,
        batchSize: BATCH,
        seed: 7,
        output: 'sigmoid',
        earlyStopping: { patience: 100, minDelta: 0 },
        onEpoch: () => {
          const used = process.cpuUsage(cpu);
          perCpu.push(train.rows / ((used.user + used.system) / 1e6));
          cpu = process.cpuUsage();
          return Promise.resolve();
        },
      });
      const auc = testAuc(trainer, test);
      const sharing = config.threads === 2 ? mlpSharingOf(trainer) : undefined;
      if (sharing) mlpShared = `${sharing.shared} of ${sharing.batches}`;
      trainer.dispose();
      const perEpoch = result.history.map((h) => train.rows / (h.ms / 1000));
      perEpochOf[key] = median(perEpoch);
      perCpuOf[key] = median(perCpu);
      aucOf[key] = auc;
      if (config.engine === 'typed-array' && !config.threads) {
        [linearPerEpoch, linearPerEpochCpu] = [perEpoch, perCpu];
      }
      rows.push({
        dataset: 'flights',
        step: `train ${config.name}, ${config.epochs} epochs of ${train.rows.toLocaleString('en')} rows`,
        engine: config.threads
          ? `${config.engine}, ${config.threads} thread${config.threads > 1 ? 's' : ''}`
          : config.engine,
        backend: config.engine === 'tfjs' ? backend.name : '-',
        rows: train.rows,
        'rows/s': Math.round(median(perEpoch)),
        'rows/CPU-s': Math.round(median(perCpu)),
        'test AUC': auc.toFixed(4),
      });
    }

    // The baseline: the same logistic regression as the plainest loop over the same arrays.
    const initial = initDense([train.width, 1], mulberry32(deriveSeed(7, SEED_PURPOSE.init)));
    const plain = plainLoop(
      train,
      { kernel: initial.kernels[0] as Float32Array, bias: (initial.biases[0] as Float32Array)[0] as number },
      { epochs: linearEpochs, batchSize: BATCH, learningRate: 0.005, seed: 7, shuffle: true },
    );
    const sequential = plainLoop(
      train,
      { kernel: initial.kernels[0] as Float32Array, bias: (initial.biases[0] as Float32Array)[0] as number },
      { epochs: linearEpochs, batchSize: BATCH, learningRate: 0.005, seed: 7, shuffle: false },
    );
    const plainRate = median(plain.rowsPerSecond);
    const plainAuc = aucOfLogits(plainLogits(plain, test), test);
    rows.push({
      dataset: 'flights',
      step: `baseline: plain-JS sparse loop (CSR, same order, batch, Adam), ${linearEpochs} epochs`,
      engine: 'plain loop',
      backend: '-',
      rows: train.rows,
      'rows/s': Math.round(plainRate),
      'rows/CPU-s': Math.round(median(plain.rowsPerCpuSecond)),
      'test AUC': plainAuc.toFixed(4),
    });
    rows.push({
      dataset: 'flights',
      step: `ceiling: the same plain loop in storage order (no shuffle: not the same training)`,
      engine: 'plain loop',
      backend: '-',
      rows: train.rows,
      'rows/s': Math.round(median(sequential.rowsPerSecond)),
      'rows/CPU-s': Math.round(median(sequential.rowsPerCpuSecond)),
      'test AUC': aucOfLogits(plainLogits(sequential, test), test).toFixed(4),
    });
    const linearRate = perEpochOf['typed-array logistic regression'] ?? NaN;
    const ratios = {
      linearVsPlainLoop: linearRate / plainRate,
      linearVsPlainLoopCpu:
        (perCpuOf['typed-array logistic regression'] ?? NaN) / median(plain.rowsPerCpuSecond),
      linearVsPlainLoopInStorageOrder: linearRate / median(sequential.rowsPerSecond),
      // Last epoch ÷ last epoch: both warm, whatever the median falls on.
      linearVsPlainLoopLastEpoch: (linearPerEpoch.at(-1) ?? NaN) / (plain.rowsPerSecond.at(-1) ?? NaN),
      linearVsPlainLoopLastEpochCpu:
        (linearPerEpochCpu.at(-1) ?? NaN) / (plain.rowsPerCpuSecond.at(-1) ?? NaN),
      tfjsLinearVsPlainLoop: (perEpochOf['tfjs logistic regression'] ?? NaN) / plainRate,
      linearAucMinusPlainLoopAuc: (aucOf['typed-array logistic regression'] ?? NaN) - plainAuc,
      ...mlpRatios(perEpochOf, perCpuOf, aucOf),
    };

    const store = createArtifactStore(home);
    const small: {
      dataset: string;
      file: string;
      features: object;
      label: string;
      key: string;
      trainers: TrainerConfig[];
    }[] = [
      {
        dataset: 'penguins',
        file: 'penguins.json',
        features: {
          numeric: ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'],
          categorical: ['Island', 'Sex'],
        },
        label: 'Species',
        key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", Sex)`,
        trainers: [
          { model: 'softmax', epochs: 60, batchSize: 16, learningRate: 0.02 },
          {
            model: 'mlp',
            layers: [16],
            epochs: 60,
            batchSize: 16,
            learningRate: 0.01,
            earlyStopping: { patience: 8 },
          },
        ],
      },
      {
        dataset: 'seattle-weather',
        file: 'seattle-weather.csv',
        features: {
          numeric: ['precipitation', 'temp_max', 'temp_min', 'wind'],
          categorical: [{ name: 'month', sql: 'month(date)' }],
        },
        label: 'weather',
        key: 'date',
        trainers: [
          { model: 'softmax', epochs: 60, batchSize: 32, learningRate: 0.02, classWeight: 'balanced' },
          {
            model: 'mlp',
            layers: [32, 16],
            epochs: 60,
            batchSize: 32,
            learningRate: 0.005,
            classWeight: 'balanced',
            earlyStopping: { patience: 8 },
          },
        ],
      },
    ];
    for (const d of quick ? [] : small) {
      const path = join(dataDir, d.file);
      const { sha256, bytes } = await sha256File(path);
      for (const trainer of d.trainers) {
        const started = performance.now();
        const outcome = await trainOnDataset({
          dataset: { path, uri: d.file, sha256, bytes },
          features: featuresSchema.parse(d.features),
          label: labelSchema.parse({ column: d.label, task: 'multiclass' }),
          split: splitSchema.parse({ kind: 'hash', key: d.key, seed: 1, validation: 0.15, test: 0.25 }),
          trainer: trainerSchema.parse(trainer),
        });
        const model = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
        const report = await evaluateOnDataset(store, {
          model,
          production: null,
          dataset: { path, uri: d.file, sha256 },
          split: { spec: outcome.metadata.data.split, use: 'test' },
          threshold: 0.5,
          slices: [],
          fairness: [],
          maxGroups: 20,
          bootstrap: { replicates: 200, seed: 0 },
        });
        const auc = report.metrics.auc;
        rows.push({
          dataset: d.dataset,
          step: `train ${trainer.model}, ${outcome.result.epochsRun} epochs; evaluate on ${report.rows} test rows`,
          engine: outcome.metadata.engine,
          backend: outcome.metadata.engine === 'tfjs' ? backend.name : '-',
          rows: outcome.metadata.data.rows.train,
          'rows/s': Math.round(
            (outcome.metadata.data.rows.train * outcome.result.epochsRun) /
              ((performance.now() - started) / 1000),
          ),
          'test AUC': `${auc?.value?.toFixed(4)} (${auc?.lo?.toFixed(3)}–${auc?.hi?.toFixed(3)}), acc ${report.metrics.accuracy?.value?.toFixed(3)}`,
        });
      }
    }
    rows.push(...gbdtRows, ...memory.rows);
    const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    return {
      name: 'train',
      description: `training throughput and test AUC (TF.js backend ${backend.name}; flights sample of ${FLIGHT_ROWS_RUN.toLocaleString('en')} rows, ${train.width} encoded inputs, batch ${BATCH}${quick ? '; --quick: no penguins/seattle' : ''})`,
      rows,
      ratios: { ...ratios, ...gbdtRatios, ...memory.ratios },
      notes: [
        `Typed-array MLP 64-32 ÷ TF.js WASM, rows/s per epoch: two threads ${ratios.mlpTwoThreadsVsTfjs.toFixed(2)}x, one thread ${ratios.mlpOneThreadVsTfjs.toFixed(2)}x (two ÷ one ${ratios.mlpTwoThreadsVsOne.toFixed(2)}x); test AUC two threads minus TF.js ${ratios.mlpAucMinusTfjsAuc.toFixed(4)}; typed-array kernel: ${mlpKernel}; batches shared with the second thread: ${mlpShared} (typed-mlp-sharing.ts). Two threads' rows/CPU-s counts both threads' CPU.`,
        `Linear trainer ÷ plain loop: ${ratios.linearVsPlainLoop.toFixed(2)}x rows/s per epoch (median of ${linearEpochs}), ${ratios.linearVsPlainLoopLastEpoch.toFixed(2)}x in the last epoch (${ratios.linearVsPlainLoopLastEpochCpu.toFixed(2)}x by CPU time); linear trainer rows/CPU-s by epoch: ${linearPerEpochCpu.map((r) => (r / 1e6).toFixed(2)).join(', ')} M; test AUC ${(aucOf['typed-array logistic regression'] ?? NaN).toFixed(4)} vs ${plainAuc.toFixed(4)}. The trainer's epoch includes its validation loss, shuffle and checkpointable state; the plain loop's is the train pass only.`,
        `Peak RSS of the bench process: ${peakRssMiB} MiB.`,
        `Backends passed over: ${backend.skipped.join('; ') || 'none'}.`,
        'Flights rows/s per epoch is the median over epochs; penguins/seattle rows/s covers the whole train call (load, fit, export) and AUC is macro one-vs-rest with a 95% bootstrap interval.',
        'GBDT rows: fit time excludes loading (both learners get the same in-memory splits); rows/s is training rows × rounds per second.',
        ...gbdtNotes,
        ...(memory.notes ?? []),
      ],
      extra: {
        peakRssMiB,
        backend,
        prepareSeconds,
        loadSeconds,
        inputs: train.width,
        quick,
        perEpoch: perEpochOf,
        perCpuSecond: perCpuOf,
        linearEpochs,
        linearPerEpoch,
        linearPerEpochCpu,
        plainLoopPerEpoch: plain.rowsPerSecond,
        plainLoopPerCpuSecond: plain.rowsPerCpuSecond,
        auc: { ...aucOf, plainLoop: plainAuc },
        loadAverage: loadavg(),
      },
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * The typed-array MLP beside TF.js on WASM, same network, data, seed and epochs, measured in the same
 * run: rows/s per epoch (wall), rows per CPU-second of the process (both threads count), and the
 * test AUC difference (speed must not buy a worse model).
 */
function mlpRatios(
  perEpoch: Record<string, number>,
  perCpu: Record<string, number>,
  auc: Record<string, number>,
) {
  const tfjs = `tfjs ${MLP}`;
  const one = `typed-array ${MLP}, 1 thread`;
  const two = `typed-array ${MLP}, 2 threads`;
  const of = (table: Record<string, number>, key: string) => table[key] ?? NaN;
  return {
    mlpTwoThreadsVsTfjs: of(perEpoch, two) / of(perEpoch, tfjs),
    mlpOneThreadVsTfjs: of(perEpoch, one) / of(perEpoch, tfjs),
    mlpTwoThreadsVsOne: of(perEpoch, two) / of(perEpoch, one),
    mlpOneThreadVsTfjsCpu: of(perCpu, one) / of(perCpu, tfjs),
    mlpTwoThreadsVsTfjsCpu: of(perCpu, two) / of(perCpu, tfjs),
    mlpAucMinusTfjsAuc: of(auc, two) - of(auc, tfjs),
  };
}

/** `--linear-epochs N` (or `=N`): a positive whole number, else LINEAR_EPOCHS. */
function linearEpochsArg(args: string[]): number {
  const at = args.findIndex((a) => a === '--linear-epochs' || a.startsWith('--linear-epochs='));
  if (at < 0) return LINEAR_EPOCHS;
  const arg = args[at] as string;
  const value = Number(arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1]);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(
      `--linear-epochs wants a whole number of epochs, at least 1 (got ${arg} ${args[at + 1] ?? ''})`,
    );
  return value;
}

function testAuc(trainer: Trainer, test: Matrix): number {
  return aucOfLogits(trainer.logits(test.x, test.rows), test);
}

function aucOfLogits(z: Float32Array, test: Matrix): number {
  const p = z.map((v) => 1 / (1 + Math.exp(-v)));
  return binaryMetrics(test.y, p, sortByScore(p), 0.5).auc ?? NaN;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/**
 * `--memory-scale N` (with `--memory`): measure on N copies of the 3M flights (N = 4: 12M rows, a
 * 2 GiB training matrix), which the dense trainers stream under the default `trainer.memory`.
 */
function memoryScaleArg(args: string[]): number {
  const at = args.indexOf('--memory-scale');
  if (at < 0) return 1;
  const n = Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new Error(
      `--memory-scale takes a whole number of copies of the 3M flights from 1 to 16, not ${args[at + 1]}`,
    );
  }
  return n;
}
