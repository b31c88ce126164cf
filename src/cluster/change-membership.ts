/**
 * The procedure `growCluster` and `shrinkCluster` share (paper §2.3): a configuration change on
 * every proposer, an identity pass over every key, another configuration change on every proposer.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Acceptor, CallOptions, ConfigurationChanger } from '../roles.js';
import type { MembershipStep } from '../tracer.js';
import type { MembershipOptions } from './options.js';
import { UndoStack, assertNonEmpty, pick, runStep } from './steps.js';
import { integerOption } from '../internal/validate.js';

/**
 * Re-writes every key the proposer's accepters hold by an identity read, `concurrency` at a time,
 * so each committed state ends up on a quorum of the current accept set. Stops at the first
 * failure. The keys are listed first (the proposer's listing is a merge of the accepters' lists,
 * held in memory either way), so progress reports know the total.
 */
export async function identityPass(proposer: ConfigurationChanger, opts: MembershipOptions, step = '2 (identity pass)'): Promise<number> {
  const { signal, onProgress } = opts;
  const concurrency = integerOption(opts.concurrency, 'concurrency', 1, 16);
  const callOptions = signal === undefined ? {} : { signal };
  const writeBack = { ...callOptions, writeBack: true };
  const keys: string[] = [];
  for await (const key of proposer.listKeys(callOptions)) keys.push(key);
  const total = keys.length;
  let next = 0;
  let done = 0;
  onProgress?.({ step, unit: 'keys', done, total });
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < total) {
      // The writing read, whatever the configuration: this pass exists to re-write every key to a
      // quorum of the new accept set (paper §2.3), which a read that writes nothing would skip.
      await proposer.identityRead(keys[next++] as string, writeBack);
      done++;
      onProgress?.({ step, unit: 'keys', done, total });
    }
  };
  const workers = Array.from({ length: concurrency }, () =>
    worker().catch((error: unknown) => {
      failure ??= { error };
    }),
  );
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
  return done;
}

/** One configuration step of a membership change: what to do on each proposer, and its inverse. */
export interface ConfigurationStep {
  readonly step: MembershipStep;
  /** How errors name the step, e.g. `1 (add accepter)`. */
  readonly label: string;
  readonly apply: (proposer: ConfigurationChanger, opts: CallOptions) => Promise<void>;
  readonly revert: (proposer: ConfigurationChanger) => Promise<void>;
}

/**
 * The shape `growCluster` and `shrinkCluster` share (paper §2.3): `first` on every proposer, an
 * identity pass over every key by one proposer, `last` on every proposer. When a step fails, the
 * completed configuration changes are undone in reverse order before the error is rethrown. A
 * change interrupted by the caller's abort may already be installed (only the wait for in-flight
 * attempts was cut short), so it is undone too.
 */
export async function changeMembership(
  operation: 'grow' | 'shrink',
  target: Acceptor,
  proposers: readonly ConfigurationChanger[],
  opts: MembershipOptions,
  first: ConfigurationStep,
  last: ConfigurationStep,
): Promise<void> {
  assertNonEmpty(proposers, 'proposers');
  if (typeof target?.address !== 'string') throw new InvalidArgumentError('target must be an acceptor');
  const op = { operation, target: target.address } as const;
  const { signal } = opts;
  const callOptions = signal === undefined ? {} : { signal };
  const undo = new UndoStack();
  const onEveryProposer = async ({ apply, revert, label }: ConfigurationStep): Promise<void> => {
    for (const [done, proposer] of proposers.entries()) {
      opts.onProgress?.({ step: label, unit: 'proposers', done, total: proposers.length });
      try {
        await apply(proposer, callOptions);
      } catch (error) {
        if (signal?.aborted && error === signal.reason) undo.push(() => revert(proposer));
        throw error;
      }
      undo.push(() => revert(proposer));
    }
    opts.onProgress?.({ step: label, unit: 'proposers', done: proposers.length, total: proposers.length });
  };
  try {
    await runStep(op, first.step, first.label, opts, () => onEveryProposer(first));
    await runStep(op, 'identity-pass', '2 (identity pass)', opts, () => identityPass(pick(proposers, opts.random), opts));
    await runStep(op, last.step, last.label, opts, () => onEveryProposer(last));
  } catch (error) {
    await undo.run(op, opts);
    throw error;
  }
}
