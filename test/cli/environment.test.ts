/**
 * Every flag also from an environment variable (`parse` in src/cli/flags.ts): the variable's name
 * is derived from the flag's, a flag on the command line wins, defaults come last, switches take
 * 1/true or 0/false, empty variables count as unset, and a CASPAXOS_ variable the command does not
 * read is refused.
 */
import { describe, expect, it } from 'vitest';
import { ACCEPTOR_OPTIONS } from '../../src/cli/acceptor-command.js';
import { UsageError, environmentHelp, parse, variableOf } from '../../src/cli/flags.js';
import { NODE_OPTIONS } from '../../src/cli/node-command.js';

const USAGE = 'Usage: caspaxos acceptor --data <dir>';
const parseWith = (args: string[], env: Record<string, string>) => parse(args, ACCEPTOR_OPTIONS, USAGE, env).values;

describe('flags from the environment', () => {
  it('derives each variable from its flag', () => {
    expect(variableOf('max-body-bytes')).toBe('CASPAXOS_MAX_BODY_BYTES');
    expect(variableOf('data')).toBe('CASPAXOS_DATA');
    expect(variableOf('cluster-id')).toBe('CASPAXOS_CLUSTER_ID');
  });

  it('takes absent flags from their variables; a flag on the command line wins; defaults come last', () => {
    const values = parseWith(['--port', '7002'], { CASPAXOS_DATA: '/srv/a1', CASPAXOS_PORT: '9999', CASPAXOS_HOST: '0.0.0.0' });
    expect(values.data).toBe('/srv/a1');
    expect(values.port).toBe('7002');
    // --host has a default (127.0.0.1): the variable must win over it, the default over nothing.
    expect(values.host).toBe('0.0.0.0');
    expect(parseWith([], {}).host).toBe('127.0.0.1');
    expect(parseWith([], {})['log-level']).toBe('info');
    expect(parseWith([], { CASPAXOS_LOG_LEVEL: 'warn' })['log-level']).toBe('warn');
  });

  it('reads switches as 1/true/yes or 0/false/no, and refuses anything else', () => {
    expect(parseWith([], { CASPAXOS_UNSAFE_NO_SYNC: '1' })['unsafe-no-sync']).toBe(true);
    expect(parseWith([], { CASPAXOS_UNSAFE_NO_SYNC: 'TRUE' })['unsafe-no-sync']).toBe(true);
    expect(parseWith([], { CASPAXOS_UNSAFE_NO_SYNC: 'false' })['unsafe-no-sync']).toBe(false);
    expect(() => parseWith([], { CASPAXOS_UNSAFE_NO_SYNC: 'sure' })).toThrow(/CASPAXOS_UNSAFE_NO_SYNC must be 1\/true or 0\/false/);
  });

  it('treats an empty variable as unset (the tests clear CASPAXOS_CLUSTER_ID that way)', () => {
    expect(parseWith([], { CASPAXOS_DATA: '' }).data).toBeUndefined();
    expect(() => parseWith([], { CASPAXOS_NOT_A_FLAG: '' })).not.toThrow();
  });

  it('refuses CASPAXOS_ variables the command does not read, naming them', () => {
    const refusal = (() => {
      try {
        parseWith([], { CASPAXOS_ACCEPTORS: 'http://x', CASPAXOS_DATTA: '/srv', HOME: '/root' });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toMatch(/^CASPAXOS_ACCEPTORS, CASPAXOS_DATTA are set, but 'caspaxos acceptor' reads no such variable/);
    // The secret and the help are not flags read from the environment the same way.
    expect(() => parseWith([], { CASPAXOS_SECRET: 's' })).not.toThrow();
    expect(() => parseWith([], { CASPAXOS_HELP: '1' })).toThrow(/CASPAXOS_HELP is set/);
    // The node reads CASPAXOS_ACCEPTORS: the same variable is fine there.
    expect(parse([], NODE_OPTIONS, 'Usage: caspaxos node', { CASPAXOS_ACCEPTORS: 'http://x' }).values.acceptors).toBe('http://x');
  });

  it('lists every flag with its variable in --help', () => {
    const help = environmentHelp(NODE_OPTIONS);
    for (const flag of Object.keys(NODE_OPTIONS)) {
      if (flag === 'help') expect(help).not.toContain('CASPAXOS_HELP');
      else expect(help).toMatch(new RegExp(`--${flag} +${variableOf(flag)}\\n`));
    }
    expect(help).toContain('CASPAXOS_SECRET');
  });
});
