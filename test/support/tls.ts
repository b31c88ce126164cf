/**
 * Certificates for TLS tests, made at test time with `openssl` (X.509 cannot be made with
 * node:crypto alone): a private CA, and a server certificate it signed for 127.0.0.1 and
 * localhost. `openssl` is on the CI image (.ci/run installs it); where it is missing, `makeCertificates`
 * returns `undefined` and the TLS tests skip saying so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificates {
  readonly dir: string;
  /** Files: the CA's certificate, the server's certificate and key (PEM). */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA's certificate, PEM. */
  readonly ca: string;
}

/** Whether `openssl` runs here. */
export const HAS_OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

/** A CA and a server certificate it signed (for 127.0.0.1, ::1 and localhost), in a new directory. */
export function makeCertificates(): Certificates | undefined {
  if (!HAS_OPENSSL) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'caspaxos-tls-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=caspaxos test CA', '-keyout', file('ca.key'), '-out', file('ca.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));
  return { dir, caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key'), ca: readFileSync(file('ca.pem'), 'utf8') };
}
