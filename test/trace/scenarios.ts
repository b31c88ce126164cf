/**
 * Traces of real `MemoryProposer`/`MemoryAcceptor` runs, recorded with the default logical clock:
 * deterministic (in-process acceptors answer in microtask order, retries never wait on a timer and
 * their jitter is seeded), so the golden files can hold their renderings byte for byte.
 */
import { MemoryAcceptor, MemoryProposer, type MemoryProposerOptions, garbageCollect, growCluster } from '../../src/index.js';
import { type RecordedEvent, TraceRecorder } from '../../src/trace/index.js';
import { SeededRandom } from '../../src/sim/random.js';
import { noSleep } from '../support/cluster.js';
import { enc } from '../support/text.js';

function cluster(recorder: TraceRecorder, proposers: readonly string[], options: MemoryProposerOptions = {}) {
  const acceptors = ['a1', 'a2', 'a3'].map((a) => new MemoryAcceptor(a));
  const random = new SeededRandom(7).asFunction;
  const ps = proposers.map((id) => new MemoryProposer(id, acceptors, { tracer: recorder.tracer, sleep: noSleep, random, ...options }));
  return { acceptors, proposers: ps, p: (i: number) => ps[i] as MemoryProposer };
}

/** One proposal by p1 on a fresh cluster of three: prepare, promises, accept, accepteds, commit. */
export async function basicRound(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const { p } = cluster(recorder, ['p1'], { oneRoundTrip: false });
  await p(0).propose('k', () => enc('hello'));
  return recorder.events;
}

/**
 * p1 and p2 propose on one key at the same time: p2's ballot 1/p2 beats p1's 1/p1, so p1 meets
 * conflicts, fast-forwards past 1/p2, retries under 2/p1 and reads p2's value.
 */
export async function conflict(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const { p } = cluster(recorder, ['p1', 'p2'], { oneRoundTrip: false });
  await Promise.all([p(0).propose('k', (s) => enc(`${s === null ? '' : new TextDecoder().decode(s)}+p1`)), p(1).propose('k', (s) => enc(`${s === null ? '' : new TextDecoder().decode(s)}+p2`))]);
  return recorder.events;
}

/** Two proposals by p1 with one round trip on: the second skips the prepare phase (paper §2.2.1). */
export async function skipPrepare(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const { p } = cluster(recorder, ['p1']);
  await p(0).propose('k', () => enc('v1'));
  await p(0).propose('k', () => enc('v2'));
  return recorder.events;
}

/** p1 writes then deletes `k`; a garbage collection (paper §3.1, steps a-d) removes the tombstone. */
export async function garbageCollection(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const { acceptors, proposers, p } = cluster(recorder, ['p1', 'p2'], { oneRoundTrip: false });
  await p(0).propose('k', () => enc('v'));
  await p(0).propose('k', () => null);
  // Seed 2 picks p2 for the identity read, the run the golden files record: p2 meets p1's ballots
  // and fast-forwards, and step b then fast-forwards p1 past p2's.
  await garbageCollect('k', proposers, acceptors, { tracer: recorder.tracer, random: new SeededRandom(2).asFunction });
  return recorder.events;
}

/** p1 grows the cluster by a4 (paper §2.3): three membership steps around an identity pass. */
export async function membership(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const { proposers, p } = cluster(recorder, ['p1'], { oneRoundTrip: false });
  await p(0).propose('k', () => enc('v'));
  await growCluster(new MemoryAcceptor('a4'), proposers, { tracer: recorder.tracer, random: new SeededRandom(1).asFunction });
  return recorder.events;
}
