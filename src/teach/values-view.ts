/**
 * Which values the acceptors hold, per key, and which of them are chosen: a value accepted under
 * one ballot by a majority of the members is chosen (every later quorum contains one of its
 * holders, and adopts it or a state built on it); one held by a minority only may still be adopted
 * by a later round, or be overwritten and vanish. The acceptor table shows each acceptor's record;
 * this shows what the records add up to.
 */
import { majority } from '../core/quorum.js';
import { displayName } from '../trace/text.js';
import type { AcceptorView } from './acceptor-view.js';

/** One accepted value of one key, with who holds it. */
export interface AcceptedValueView {
  /** The key. */
  readonly key: string;
  /** The ballot it was accepted under: `3/p1`. */
  readonly ballot: string;
  /** The value as text (`null`: empty), or its preview when it is not text. */
  readonly value: string | null;
  /** The value as the diagrams show it: `"hello"`, `∅`. */
  readonly preview: string;
  /** The acceptors that hold it (members or not), in cluster order. */
  readonly holders: readonly string[];
  /** How many members the cluster has (prepares and accepts go to them). */
  readonly members: number;
  /** Held by a majority of the members: chosen. */
  readonly chosen: boolean;
  /** `x = "abc" at 3/p1 on a1, a2, a3: 3 of 3, chosen`. */
  toString(): string;
}

/** Every value accepted somewhere, by key, then highest ballot first. */
export function viewValues(acceptors: readonly AcceptorView[]): AcceptedValueView[] {
  const members = acceptors.filter((a) => a.membership === 'member').map((a) => a.address);
  const needed = members.length === 0 ? 1 : majority(members.length);
  const groups = new Map<string, { key: string; ballot: string; value: string | null; preview: string; holders: string[] }>();
  for (const a of acceptors) {
    for (const r of a.records) {
      if (r.accepted === 'ø') continue;
      const id = `${r.key}\u0000${r.accepted}`;
      let group = groups.get(id);
      if (group === undefined) groups.set(id, (group = { key: r.key, ballot: r.accepted, value: r.value, preview: r.preview, holders: [] }));
      group.holders.push(a.address);
    }
  }
  const views = [...groups.values()].map((g) => {
    const votes = g.holders.filter((h) => members.includes(h)).length;
    const chosen = votes >= needed;
    const text = `${displayName(g.key)} = ${g.preview} at ${g.ballot} on ${g.holders.join(', ')}: ${votes} of ${members.length} members, ${chosen ? 'chosen' : 'a minority (not chosen: a later round may adopt it or overwrite it)'}`;
    return Object.freeze({ ...g, holders: Object.freeze(g.holders), members: members.length, chosen, toString: () => text });
  });
  return views.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : compareBallotText(b.ballot, a.ballot)));
}

/** Compares two ballots written `counter/id` (as `compareBallots` would the ballots). */
function compareBallotText(a: string, b: string): number {
  const [ca, ia] = split(a);
  const [cb, ib] = split(b);
  return ca !== cb ? ca - cb : ia < ib ? -1 : ia > ib ? 1 : 0;
}

function split(ballot: string): [number, string] {
  const slash = ballot.indexOf('/');
  return [Number(ballot.slice(0, slash)), ballot.slice(slash + 1)];
}
