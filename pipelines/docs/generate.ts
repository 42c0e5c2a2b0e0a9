import { pipelineReference } from './reference.js';

// Writes docs/pipelines.md to stdout: `npx tsx pipelines/docs/generate.ts > docs/pipelines.md`.
const { markdown, undescribed } = pipelineReference();
process.stdout.write(markdown);
if (undescribed.length > 0) {
  process.stderr.write(`fields with no .describe() text:\n${undescribed.map((f) => `  ${f}`).join('\n')}\n`);
}
