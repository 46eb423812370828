/**
 * Terminal colour (in report/, so the table renderer and the CLI can both use it), only where it helps: on a terminal, and never when NO_COLOR is set to a
 * non-empty value (https://no-color.org). Everything else (files, pipes, CI logs) gets plain text.
 */
import type { FindingStatus } from '../core/types';

export interface Palette {
  enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const identity = (text: string) => text;

export const plain: Palette = { enabled: false, red: identity, green: identity, yellow: identity, cyan: identity, dim: identity, bold: identity };

export const ansi: Palette = {
  enabled: true,
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};

/** Colour for a stream: only when it is a terminal and NO_COLOR is unset or empty. */
export function colourFor(isTTY: boolean | undefined, env: Readonly<Record<string, string | undefined>>): Palette {
  if (!isTTY) return plain;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return plain;
  return ansi;
}

export function statusColour(palette: Palette, status: FindingStatus | string): (text: string) => string {
  switch (status) {
    case 'NON_COMPLIANT':
      return (t) => palette.bold(palette.red(t));
    case 'ERROR':
      return palette.red;
    case 'EXEMPT':
      return palette.yellow;
    case 'COMPLIANT':
      return palette.green;
    default:
      return palette.dim;
  }
}

/** The visible width of text that may hold ANSI colour codes. */
export function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}
