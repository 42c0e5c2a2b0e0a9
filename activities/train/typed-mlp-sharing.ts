/** Batches per round of {@link BatchSharing}: the first {@link TRIAL} try the mode not in favour. */
const ROUND = 64;
const TRIAL = 4;
/** Weight of a batch's time in its mode's running average. */
const ALPHA = 0.25;

/**
 * Whether the second thread shares the next batch, chosen from what sharing has cost so far. Sharing
 * a batch costs a wake-up of the helper and a wait for its chunks; on two idle cores that is a few µs
 * against half the batch's work, but on cores other processes keep busy a thread can wait a
 * scheduler slice (milliseconds) to run, and one thread alone is then faster. The weights do not
 * depend on who computes which chunk, so the choice is free to follow the machine: each mode's wall
 * time per row is averaged over the batches it ran, the faster one runs, and every {@link ROUND}
 * batches the other is tried for {@link TRIAL} batches, so a change of load is noticed.
 */
export class BatchSharing {
  /** Running average of wall ms per row: [alone, shared] (NaN until the mode has run). */
  private readonly cost = [Number.NaN, Number.NaN];
  private batch = 0;
  private sharedBatches = 0;

  /** Whether to share the next batch (then report its time to {@link record}). */
  next(): boolean {
    const [alone, shared] = this.cost as [number, number];
    // Sharing is what was asked for: it is favoured until one thread alone has been seen faster.
    const favoured = !(alone < shared);
    const trial = this.batch++ % ROUND < TRIAL;
    const share = trial ? !favoured : favoured;
    if (share) this.sharedBatches++;
    return share;
  }

  record(shared: boolean, ms: number, rows: number): void {
    const at = shared ? 1 : 0;
    const perRow = ms / Math.max(rows, 1);
    const before = this.cost[at] as number;
    this.cost[at] = Number.isNaN(before) ? perRow : before + ALPHA * (perRow - before);
  }

  /** The averages so far (for tests and benches): wall ms per row alone and shared. */
  costs(): { alone: number; shared: number } {
    return { alone: this.cost[0] as number, shared: this.cost[1] as number };
  }

  /** Batches chosen so far, and how many of them were shared. */
  counts(): { batches: number; shared: number } {
    return { batches: this.batch, shared: this.sharedBatches };
  }
}
