import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import type { ArtifactProducer, ArtifactRef } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { Blessing } from '../../pipelines/evaluation.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { cardStepSchema } from '../../pipelines/step-params.js';
import { parseOrThrow } from '../../pipelines/train-spec.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import type { EvaluationReport } from '../evaluate/evaluate-core.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import { buildCardData } from './card-data.js';
import { chartSpecs, renderCharts } from './charts.js';
import { renderCardHtml } from './render-html.js';

export { cardStepSchema } from '../../pipelines/step-params.js';

export interface ModelCardOutput extends JsonObject {
  html: ArtifactRef;
  json: ArtifactRef;
  blessed: boolean;
  charts: number;
}

/**
 * The `renderModelCard` step: a model card in HTML (for people: plain words, a verdict with every
 * reason, metrics with intervals, comparison with production, fairness and slices, Vega-Lite charts
 * rendered to SVG on the server) and in JSON (the same content for machines), both stored as
 * artifacts. A chart that cannot be drawn is noted on the card rather than failing the step.
 */
export async function renderModelCardStep(
  home: string,
  input: StepInput,
  artifacts?: ArtifactLocation,
): Promise<ModelCardOutput> {
  const params = parseOrThrow(cardStepSchema, input.params, `step "${input.step}" params`);
  const store = createArtifactStore(home, artifacts);
  const evaluationRef = (params.evaluation ?? evaluationFromInputs(input)) as ArtifactRef | undefined;
  if (!evaluationRef) {
    throw new InvalidInputError(
      `step "${input.step}" needs an evaluation: depend on an evaluateModel step or give params.evaluation`,
    );
  }
  const report = (await store.readJson<JsonValue>(evaluationRef)) as unknown as EvaluationReport & {
    blessing?: Blessing;
  };
  // The verdict shown is the workflow's (it derives the blessing from the metrics and the spec and
  // passes it on with the evaluation); evaluations stored before that carried their own.
  const blessing = blessingFromInputs(input, evaluationRef.sha256) ?? report.blessing;
  if (!blessing) {
    throw new InvalidInputError(
      `step "${input.step}" has no blessing to show: depend on the evaluateModel step, whose blessing the workflow derives from its metrics`,
    );
  }
  const manifest = await readModelManifest(store, report.model);
  const card = buildCardData(
    {
      title: params.title ?? `${input.run.pipeline} model`,
      purpose: params.purpose,
      intendedUse: params.intendedUse,
      limitations: params.limitations,
      owner: params.owner,
      pipeline: input.run.pipeline,
      run: { workflowId: input.run.workflowId, runId: input.run.runId },
    },
    report.model,
    manifest,
    report,
    blessing,
    evaluationRef,
  );
  const charts = await renderCharts(chartSpecs(report, manifest.metadata.training.history));
  const html = renderCardHtml(card, charts, report.fairness, report.slices, report.slicesOmitted ?? []);
  const producer: ArtifactProducer = {
    workflowId: input.run.workflowId,
    runId: input.run.runId,
    step: input.step,
  };
  const htmlRef = await store.putBytes(Buffer.from(html), { kind: 'model-card', format: 'html', producer });
  const jsonRef = await store.putJson(
    {
      ...card,
      fairness: report.fairness,
      slices: report.slices,
      slicesOmitted: report.slicesOmitted ?? [],
      charts: charts.map(({ svg: _, ...c }) => c),
    } as unknown as JsonValue,
    { kind: 'model-card', producer },
  );
  return {
    html: htmlRef,
    json: jsonRef,
    blessed: card.verdict.blessed,
    charts: charts.filter((c) => c.svg !== null).length,
  };
}

/** The blessing the workflow passed on with this evaluation (an evaluateModel step's output). */
function blessingFromInputs(input: StepInput, sha256: string): Blessing | undefined {
  for (const value of Object.values(input.inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const ref = value['evaluation'];
    const blessing = value['blessing'];
    if (typeof ref !== 'object' || ref === null || Array.isArray(ref) || ref['sha256'] !== sha256) continue;
    if (typeof blessing === 'object' && blessing !== null && !Array.isArray(blessing)) {
      return blessing as unknown as Blessing;
    }
  }
  return undefined;
}

function evaluationFromInputs(input: StepInput): ArtifactRef | undefined {
  for (const value of Object.values(input.inputs)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    const ref = value['evaluation'];
    if (typeof ref === 'object' && ref !== null && !Array.isArray(ref) && ref['kind'] === 'evaluation') {
      return ref as unknown as ArtifactRef;
    }
  }
  return undefined;
}
