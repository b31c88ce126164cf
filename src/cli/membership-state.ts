/**
 * A node's durable membership: `<data>/membership.json`, the configuration its proposer runs with,
 * rewritten (atomically: temporary file, fsync, rename, fsync of the directory) after every
 * configuration change and before the change is acknowledged, so a node restarted after a grow or
 * a shrink comes back with the membership it had, whatever its command line says. `--acceptors` is
 * needed only to bootstrap a node that has no state yet.
 *
 *     { format, cluster, preparers: [address], accepters: [address], limits: { address: bytes },
 *       written, checksum }
 *
 * Addresses are member addresses: `http://host:port#<incarnation>` for `caspaxos acceptor`s (the
 * incarnation names the member: a re-initialised directory at the same URL is another member), the
 * URL for `redis://` acceptors. `limits` remembers each HTTP member's body limit (`GET
 * /v1/identity`), so the node knows its value limit while a member is down. Preparers and
 * accepters differ between the steps of a membership change.
 */
import { join } from 'node:path';
import { JsonFileError, readJsonFile, writeJsonFile } from '../lmdb/atomic-file.js';
import { isClusterId } from '../http/wire.js';
import { EXIT, Refusal } from './refusal.js';

export const MEMBERSHIP_FILE = 'membership.json';
const FORMAT = 'caspaxos-node-membership/1';

/** What a node keeps. */
export interface MembershipState {
  readonly clusterId: string;
  readonly preparers: readonly string[];
  readonly accepters: readonly string[];
  /** Body limits of HTTP members, by address. */
  readonly limits: Readonly<Record<string, number>>;
}

/** The state in `dir`, `undefined` when there is none; a `Refusal` (exit 6) when it cannot be trusted. */
export function readMembership(dir: string): MembershipState | undefined {
  const file = join(dir, MEMBERSHIP_FILE);
  let body: Record<string, unknown> | undefined;
  try {
    body = readJsonFile(file);
  } catch (error) {
    if (error instanceof JsonFileError) throw damaged(file, error.message);
    throw error;
  }
  if (body === undefined) return undefined;
  if (body.format !== FORMAT) throw damaged(file, `has the format ${JSON.stringify(body.format)}, not ${FORMAT}`);
  const { cluster, preparers, accepters, limits } = body;
  const addresses = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((a) => typeof a === 'string' && a !== '');
  const limitTable = (v: unknown): v is Record<string, number> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) > 0);
  if (!isClusterId(cluster) || !addresses(preparers) || !addresses(accepters) || !limitTable(limits)) throw damaged(file, 'holds malformed fields');
  return { clusterId: cluster, preparers, accepters, limits };
}

/** Replaces the state in `dir` atomically and durably. */
export async function writeMembership(dir: string, state: MembershipState): Promise<void> {
  await writeJsonFile(join(dir, MEMBERSHIP_FILE), {
    format: FORMAT,
    cluster: state.clusterId,
    preparers: [...state.preparers].sort(),
    accepters: [...state.accepters].sort(),
    limits: Object.fromEntries(Object.entries(state.limits).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    written: new Date().toISOString(),
  });
}

/** The base URL of a member address (without its `#incarnation`). */
export function urlOf(address: string): string {
  const hash = address.indexOf('#');
  return hash < 0 ? address : address.slice(0, hash);
}

/** True when two lists hold the same addresses. */
export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function damaged(file: string, what: string): Refusal {
  return new Refusal(
    EXIT.damaged,
    `${file} ${what}: the node cannot trust its membership. If it is lost for good, stop the node, delete the file, and start the node with --acceptors naming the current members (the peers check confirms them)`,
  );
}
