/**
 * A one-line progress bar on stderr for long scans. Shown only when stderr is a terminal and the
 * scan has more than `threshold` tables, redrawn at most every `intervalMs`, and erased at the end
 * so the terminal holds only the report.
 */
import type { ScanProgress } from '../aws/scan';

export interface ProgressBar {
  update(progress: ScanProgress): void;
  done(): void;
}

export interface ProgressOptions {
  write: (text: string) => void;
  enabled: boolean;
  threshold?: number;
  width?: number;
  intervalMs?: number;
  clock?: () => number;
}

export const noProgress: ProgressBar = { update: () => undefined, done: () => undefined };

export function renderBar(p: ScanProgress, width: number): string {
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const filled = Math.round(ratio * width);
  const regions = p.regionsListed < p.regionsTotal ? `, listing ${p.regionsTotal - p.regionsListed} more Region(s)` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} tables ${Math.floor(ratio * 100)}%${regions}`;
}

export function createProgressBar(options: ProgressOptions): ProgressBar {
  if (!options.enabled) return noProgress;
  const threshold = options.threshold ?? 50;
  const width = options.width ?? 30;
  const interval = options.intervalMs ?? 100;
  const clock = options.clock ?? Date.now;
  let shown = false;
  let last = -Infinity;
  let lastLength = 0;
  return {
    update(p) {
      if (p.total <= threshold) return;
      const now = clock();
      const finished = p.done >= p.total && p.regionsListed >= p.regionsTotal;
      if (!finished && now - last < interval) return;
      last = now;
      const text = renderBar(p, width);
      options.write(`\r${text}${' '.repeat(Math.max(0, lastLength - text.length))}`);
      lastLength = text.length;
      shown = true;
    },
    done() {
      if (shown) options.write(`\r${' '.repeat(lastLength)}\r`);
      shown = false;
    },
  };
}
