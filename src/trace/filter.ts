/**
 * Filters over recorded events: small predicates that compose (`allOf`, `anyOf`, `not`), applied
 * before rendering (every renderer takes one as its `filter` option) or with `filterTrace`.
 *
 * Events that carry no key (membership steps) never match `byKey`, and events that carry no
 * proposer (garbage-collection and membership steps) never match `byProposer`; keep them with
 * `anyOf(byKey('k'), byType('gc-step', 'membership-step'))`.
 */
import { InvalidArgumentError } from '../errors.js';
import type { TraceEventType } from '../tracer.js';
import type { RecordedEvent } from './recorder.js';

/** Decides whether a recorded event is kept. */
export type TracePredicate = (recorded: RecordedEvent) => boolean;

function assertStrings(values: readonly unknown[], what: string): asserts values is readonly string[] {
  if (values.length === 0) throw new InvalidArgumentError(`${what}: give at least one value`);
  for (const v of values) if (typeof v !== 'string') throw new InvalidArgumentError(`${what}: every value must be a string`);
}

/** Events about one of `keys`. */
export function byKey(...keys: string[]): TracePredicate {
  assertStrings(keys, 'byKey');
  const set = new Set(keys);
  return ({ event }) => 'key' in event && set.has(event.key);
}

/** Events of one of the proposers `ids`: the messages it sent, the replies it got, its notes. */
export function byProposer(...ids: string[]): TracePredicate {
  assertStrings(ids, 'byProposer');
  const set = new Set(ids);
  return ({ event }) => 'proposer' in event && set.has(event.proposer);
}

/** Events to or from one of the acceptors `addresses`. */
export function byAcceptor(...addresses: string[]): TracePredicate {
  assertStrings(addresses, 'byAcceptor');
  const set = new Set(addresses);
  return ({ event }) => 'acceptor' in event && set.has(event.acceptor);
}

/** Events of one of the given types. */
export function byType(...types: TraceEventType[]): TracePredicate {
  assertStrings(types, 'byType');
  const set = new Set<string>(types);
  return ({ event }) => set.has(event.type);
}

/** A closed interval of recorded times, for `inWindow`. */
export interface TimeWindow {
  /** Earliest time kept, inclusive. @default -Infinity */
  readonly from?: number | undefined;
  /** Latest time kept, inclusive. @default Infinity */
  readonly to?: number | undefined;
}

/** Events recorded at a time in `[from, to]` (the recorder's clock; `seq` with the default one). */
export function inWindow(range: TimeWindow): TracePredicate {
  const from = range.from ?? Number.NEGATIVE_INFINITY;
  const to = range.to ?? Number.POSITIVE_INFINITY;
  if (typeof from !== 'number' || typeof to !== 'number' || Number.isNaN(from) || Number.isNaN(to)) {
    throw new InvalidArgumentError('inWindow: from and to must be numbers');
  }
  if (from > to) throw new InvalidArgumentError(`inWindow: from (${from}) is after to (${to})`);
  return ({ time }) => time >= from && time <= to;
}

/** Events every predicate keeps (all events when given none). */
export function allOf(...predicates: TracePredicate[]): TracePredicate {
  assertPredicates(predicates);
  return (recorded) => predicates.every((p) => p(recorded));
}

/** Events some predicate keeps (no event when given none). */
export function anyOf(...predicates: TracePredicate[]): TracePredicate {
  assertPredicates(predicates);
  return (recorded) => predicates.some((p) => p(recorded));
}

/** Events `predicate` drops. */
export function not(predicate: TracePredicate): TracePredicate {
  assertPredicates([predicate]);
  return (recorded) => !predicate(recorded);
}

/** The events that every predicate keeps, in their order. */
export function filterTrace(events: readonly RecordedEvent[], ...predicates: TracePredicate[]): RecordedEvent[] {
  const keep = allOf(...predicates);
  return events.filter(keep);
}

function assertPredicates(predicates: readonly unknown[]): void {
  for (const p of predicates) if (typeof p !== 'function') throw new InvalidArgumentError('a trace filter must be a function');
}
