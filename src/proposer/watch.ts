/**
 * A proposer's watch of a key: the current state first (an identity read), then every state a
 * majority of the accepters accepted under a higher ballot (`ChosenDetector`), skipping repeats of
 * the same bytes. The accepters' own watches report what each accepted; none of them alone says
 * what is chosen.
 */
import { ChosenDetector } from '../core/chosen.js';
import type { AcceptedState, State } from '../core/messages.js';
import { copyState, statesEqual } from '../core/state.js';
import { UnavailableError } from '../errors.js';
import { DEFAULT_WATCH_BUFFER, WatchChannel, closeOnAbort } from '../internal/watch-channel.js';
import type { Acceptor, ProposeResult, WatchOptions } from '../roles.js';

/**
 * Watches `key` on `accepters`. `read` makes the first read (its states are chosen: a read
 * commits what it returns), under the watch's own signal, which stops when the consumer does.
 * Ends when `signal` aborts or the consumer stops; fails if the read fails or too many accepters
 * stop answering for a majority to be seen.
 */
export function watchKey(
  key: string,
  accepters: readonly Acceptor[],
  read: (signal: AbortSignal) => Promise<ProposeResult>,
  { signal, bufferSize = DEFAULT_WATCH_BUFFER }: WatchOptions,
): AsyncIterator<State> {
  const stop = new AbortController();
  let detach = (): void => {};
  const out = new WatchChannel<State>(bufferSize, () => {
    detach();
    stop.abort();
  });
  detach = closeOnAbort(out, signal);
  if (out.closed) return out;

  const detector = new ChosenDetector(accepters.length);
  let last: State = null;
  const emit = (chosen: AcceptedState): void => {
    if (!statesEqual(chosen.state, last)) out.push(copyState(chosen.state));
    last = chosen.state;
  };
  const onPumpEnd = (error: unknown): void => {
    if (stop.signal.aborted) return;
    if (!detector.accepterStopped()) {
      out.fail(new UnavailableError(`watch of key ${JSON.stringify(key)}: too few accepters still answer`, { cause: error }));
    }
  };

  const watchOptions = { signal: stop.signal, bufferSize };
  accepters.forEach((acceptor, voter) => {
    void (async () => {
      try {
        for await (const accepted of acceptor.watch(key, watchOptions)) {
          const chosen = detector.report(voter, accepted);
          if (chosen !== undefined) emit(chosen);
        }
        onPumpEnd(undefined);
      } catch (error) {
        onPumpEnd(error);
      }
    })();
  });

  read(stop.signal).then(
    (first) => {
      last = first.state;
      out.push(first.state);
      for (const chosen of detector.start(first)) emit(chosen);
    },
    (error: unknown) => {
      if (!stop.signal.aborted) out.fail(error);
    },
  );
  return out;
}
