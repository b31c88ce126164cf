/**
 * Horizontal layout shared by the ASCII and SVG renderers: where each lifeline goes so that every
 * arrow's label fits between its two ends; and the character grid a text diagram is drawn on.
 */
import type { Diagram } from './diagram.js';

/** Code points of `text`: the width of a label in a monospace font (wide characters count as one). */
export function textWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Column positions, in character cells, for the lifelines of `diagram`: the first at 0, each at
 * least `adjacent(j)` after the one before, and for each arrow the distance between its ends at
 * least its label's width plus `padding`. The constraints only ever push a column right of columns
 * already placed, so one left-to-right pass finds the narrowest layout.
 */
export function columnPositions(diagram: Diagram, adjacent: (j: number) => number, padding: number): number[] {
  const count = diagram.participants.length;
  const needs: Array<Array<{ lo: number; width: number }>> = Array.from({ length: count }, () => []);
  for (const row of diagram.rows) {
    if (row.kind !== 'arrow' || row.from === row.to) continue;
    const lo = Math.min(row.from, row.to);
    const hi = Math.max(row.from, row.to);
    needs[hi]?.push({ lo, width: textWidth(row.label) + padding });
  }
  const x: number[] = [];
  for (let j = 0; j < count; j++) {
    let at = j === 0 ? 0 : (x[j - 1] as number) + adjacent(j);
    for (const { lo, width } of needs[j] as Array<{ lo: number; width: number }>) at = Math.max(at, (x[lo] as number) + width);
    x.push(at);
  }
  return x;
}

/** A text line of `width` spaces, as cells to draw on. */
export function blank(width: number): string[] {
  return Array.from({ length: width }, () => ' ');
}

/** Writes `text` into `cells` from column `at`, one code point per cell, growing the line if needed. */
export function put(cells: string[], at: number, text: string): void {
  let c = at;
  for (const ch of text) {
    while (cells.length <= c) cells.push(' ');
    cells[c++] = ch;
  }
}

/** The cells as a line, without trailing spaces. */
export function finish(cells: readonly string[]): string {
  return cells.join('').trimEnd();
}
