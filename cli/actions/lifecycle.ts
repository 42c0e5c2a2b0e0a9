/**
 * Wait for SIGINT or SIGTERM. The first starts a clean shutdown; a second one while it runs exits at
 * once (the user pressed Ctrl-C twice).
 */
export function untilShutdownSignal(onForce: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const handler = (signal: NodeJS.Signals) => {
      if (received) onForce();
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/** Cleanups run in reverse order of registration, each at most once, errors reported not thrown. */
export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> }[] = [];
  add(name: string, fn: () => Promise<void>): void {
    this.steps.push({ name, fn });
  }
  async run(report: (line: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (error) {
        report(`could not stop ${step.name}: ${(error as Error).message}`);
      }
    }
  }
}
