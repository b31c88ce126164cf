/**
 * The command line's help and its refusals: every flag is explained, and a mistake prints the
 * command's usage and exits with 2 without starting anything. Needs the build (`npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../bin/caspaxos.mjs', import.meta.url));
// Without CASPAXOS_CLUSTER_ID from the environment: the refusals below depend on its absence.
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, CASPAXOS_CLUSTER_ID: '' } });

describe('caspaxos --help', () => {
  it('lists the commands', () => {
    const { status, stdout } = run('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/acceptor\s+Create \(--init\) or run a durable acceptor/);
    expect(stdout).toMatch(/Exit codes: 0 stopped cleanly/);
    expect(stdout).toMatch(/node\s+Run a proposer node/);
    expect(stdout).toMatch(/inspect\s+Read an acceptor's data directory without changing it/);
  });

  it.each([
    ['acceptor', ['--data', '--init', '--adopt', '--cluster-id', '--port', '--host', '--secret-file', '--max-body-bytes', '--max-key-bytes', '--log-level', '--unsafe-no-sync', '--headers-timeout-ms', '--receive-timeout-ms', '--keep-alive-timeout-ms', '--max-connections', '--tls-cert', '--tls-key', 'CASPAXOS_DATA', 'CASPAXOS_UNSAFE_NO_SYNC', '/metrics']],
    ['node', ['--data', '--acceptors', '--peers', '--cluster-id', '--id', '--port', '--host', '--secret-file', '--timeout-ms', '--sweep-interval-ms', '--log-level', '--max-body-bytes', '--headers-timeout-ms', '--receive-timeout-ms', '--keep-alive-timeout-ms', '--max-connections', '--max-watches', '--tls-cert', '--tls-key', '--tls-ca', 'CASPAXOS_ACCEPTORS', 'CASPAXOS_TLS_CA', 'CASPAXOS_MAX_WATCHES', '/v1/ready', '/v1/health', '/metrics', '/v1/kv/{key}/watch', '/v1/admin/operations']],
    ['inspect', ['--keys', '--export', '--json', '--cluster-id']],
  ])('%s --help explains every flag it accepts', (command, flags) => {
    const { status, stdout } = run(command as string, '--help');
    expect(status).toBe(0);
    for (const flag of flags as string[]) expect(stdout).toContain(flag);
  });

  it.each([
    [['bogus'], /unknown command "bogus"/],
    [['acceptor'], /--data is required/],
    [['acceptor', '--data', '/tmp/x', '--port', 'eighty'], /--port must be a non-negative integer/],
    [['acceptor', '--init', '--data', '/tmp/x'], /--init needs --cluster-id/],
    [['acceptor', '--init', '--adopt', '--data', '/tmp/x'], /--init and --adopt exclude each other/],
    [['acceptor', '--init', '--cluster-id', 'bad id!', '--data', '/tmp/x'], /the cluster id must be/],
    [['node'], /--data is required/],
    [['node', '--data', '/tmp/x', '--acceptors', 'http://127.0.0.1:1', '--nope'], /Unknown option '--nope'/],
    [['node', '--data', '/tmp/x', '--acceptors', 'http://127.0.0.1:1', '--log-level', 'loud'], /--log-level must be one of/],
    [['node', '--data', '/tmp/x', '--max-connections', '0'], /--max-connections must be at least 1/],
    [['inspect'], /name one data directory/],
    [['inspect', '/tmp/x', '--keys', '--export', '-'], /--keys and --export exclude each other/],
    [['acceptor', '--data', '/tmp/x', '--tls-cert', '/dev/null'], /--tls-cert and --tls-key go together/],
    [['acceptor', '--data', '/tmp/x', '--tls-cert', '/dev/null', '--tls-key', '/dev/null'], /--tls-cert: \/dev\/null holds no PEM block/],
  ])('refuses %j with exit code 2 and the usage', (args, message) => {
    const { status, stderr } = run(...(args as string[]));
    expect(status).toBe(2);
    expect(stderr).toMatch(message as RegExp);
    expect(stderr).toContain('Usage: caspaxos');
  });

  it.each(['acceptor', 'node'])('%s refuses a secret that could never authenticate (whitespace), naming where it came from', (command) => {
    const args = command === 'node' ? ['--acceptors', 'http://127.0.0.1:1'] : [];
    const { status, stderr } = spawnSync(process.execPath, [CLI, command, '--data', '/tmp/caspaxos-no-such-dir', '--cluster-id', 'c1', ...args], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, CASPAXOS_SECRET: 'two words' },
    });
    expect(status).toBe(2);
    expect(stderr).toMatch(/CASPAXOS_SECRET: secret must be visible ASCII characters/);
  });
});
