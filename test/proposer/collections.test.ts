import { describe, expect, test } from 'vitest';
import { COLLECTIONS_KEPT, Collections } from '../../src/proposer/collections.js';

describe('Collections: which keys a garbage collection may have erased since an age', () => {
  test('a collection of a key counts for that key only, and only for attempts made before it', () => {
    const c = new Collections();
    c.record('k', 2);
    expect(c.collectedSince('k', 1)).toBe(true);
    expect(c.collectedSince('k', 2)).toBe(false);
    expect(c.collectedSince('other', 0)).toBe(false);
  });

  test('a key collected again keeps its latest age', () => {
    const c = new Collections();
    c.record('k', 1);
    c.record('k', 3);
    expect(c.collectedSince('k', 2)).toBe(true);
  });

  test('beyond the keys kept, the oldest is forgotten: then any key may have been collected up to its age', () => {
    const c = new Collections(2);
    c.record('a', 1);
    c.record('b', 2);
    c.record('a', 3); // a moves to the back: b is now the oldest
    c.record('c', 4);
    expect(c.collectedSince('unrelated', 1)).toBe(true); // b (age 2) was forgotten
    expect(c.collectedSince('unrelated', 2)).toBe(false);
    expect(c.collectedSince('a', 2)).toBe(true);
  });

  test(`keeps ${COLLECTIONS_KEPT} keys by default`, () => {
    const c = new Collections();
    for (let i = 1; i <= COLLECTIONS_KEPT; i++) c.record(`k${i}`, i);
    expect(c.collectedSince('unrelated', 0)).toBe(false);
    c.record('one-more', COLLECTIONS_KEPT + 1);
    expect(c.collectedSince('unrelated', 0)).toBe(true);
    expect(c.collectedSince('unrelated', 1)).toBe(false);
  });
});
