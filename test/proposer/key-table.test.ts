import { describe, expect, test } from 'vitest';
import { KeyTable } from '../../src/proposer/key-table.js';

describe('KeyTable', () => {
  test('one slot per key, kept while the key is idle', () => {
    const table = new KeyTable(4);
    const slot = table.slot('k');
    expect(table.slot('k')).toBe(slot);
    expect(table.get('k')).toBe(slot);
    expect(table.get('other')).toBeUndefined();
    expect(slot.key).toBe('k');
  });

  test('at capacity, a new key evicts the idle slot added longest ago', () => {
    const table = new KeyTable(2);
    table.slot('a');
    table.slot('b');
    table.slot('c');
    expect(table.get('a')).toBeUndefined();
    expect(table.get('b')).toBeDefined();
    expect(table.get('c')).toBeDefined();
  });

  test('never evicts the slot of a running round (it holds the queue): the table grows past capacity instead', () => {
    const table = new KeyTable<string>(2);
    const a = table.slot('a');
    const b = table.slot('b');
    a.waiting = [];
    b.waiting = ['queued'];
    table.slot('c');
    expect(table.get('a')).toBe(a);
    expect(table.get('b')).toBe(b);
    expect(table.get('c')).toBeDefined();
    // Once idle, they go first.
    a.waiting = undefined;
    table.slot('d');
    expect(table.get('a')).toBeUndefined();
  });

  test('second chance: a live entry cached again is passed over once; the live count follows', () => {
    const table = new KeyTable(2);
    const hot = table.slot('hot');
    table.setLive(hot, true);
    hot.used = true;
    const cold = table.slot('cold');
    table.setLive(cold, true);
    expect(table.live).toBe(2);
    table.slot('new');
    expect(table.get('cold')).toBeUndefined();
    expect(table.get('hot')).toBe(hot);
    expect(hot.used).toBe(false);
    expect(table.live).toBe(1);
    table.clearEntries();
    expect(table.live).toBe(0);
    expect(hot.live).toBe(false);
  });
  test('a copy handed out is lent again while the table holds at most 256 slots, retired once a caller owns it', () => {
    const table = new KeyTable(1000);
    const copy = Uint8Array.of(1, 2);
    const slot = table.slot('k');
    expect(table.reusable(slot)).toBeUndefined();
    table.lend(slot, copy);
    expect(table.reusable(slot)).toBe(copy);
    // A caller that got it back owns it.
    slot.resolved([Uint8Array.of(1, 2), copy]);
    expect(table.reusable(slot)).toBeUndefined();
    table.lend(slot, copy);
    table.lend(slot, null);
    expect(table.reusable(slot)).toBeUndefined();
    table.lend(slot, copy);
    // Past 256 slots, no copy is kept: the one held is dropped, a new one is not kept.
    for (let i = 0; i < 256; i++) table.slot(`other-${i}`);
    expect(table.reusable(slot)).toBeUndefined();
    table.lend(slot, copy);
    expect(slot.lent).toBeUndefined();
  });
});
