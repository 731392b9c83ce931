import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A certificate and its key, as PEM files. */
export interface CertPair {
  cert: string;
  key: string;
}

/** The certificates the https tests serve, generated fresh by the openssl CLI for one test file. */
export interface TestCertificates {
  dir: string;
  /** Self-signed for localhost and 127.0.0.1. */
  selfSigned: CertPair;
  /** Self-signed for other.example only: right server, wrong name. */
  otherName: CertPair;
  /** A test CA (cert only: what health.tls.ca names). */
  ca: string;
  /** Issued by the test CA for localhost and 127.0.0.1. */
  leaf: CertPair;
  /** Issued by the test CA for other.example only. */
  leafOtherName: CertPair;
}

// P-256 keys: quick to generate on a loaded machine, and every TLS stack accepts them.
const Key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
const Leaf = ['-addext', 'basicConstraints=critical,CA:FALSE'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** One certificate for `subject` and `altNames`: self-signed, or issued by the CA that `extra` names. */
function issue(dir: string, name: string, subject: string, altNames: string, extra: string[] = []): CertPair {
  const pair = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const names = ['-subj', subject, '-addext', `subjectAltName=${altNames}`];
  openssl(['req', '-x509', ...Key, '-keyout', pair.key, '-out', pair.cert, ...names, ...extra]);
  return pair;
}

/** Generate every certificate the https tests need into a new temp directory (remove it with removeCertificates). */
export function makeCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portproof-certs-'));
  // nginx's workers and the app read these; the directory must be reachable by other users.
  fs.chmodSync(dir, 0o755);
  const ca = { cert: path.join(dir, 'ca.pem'), key: path.join(dir, 'ca.key') };
  openssl([
    'req',
    '-x509',
    ...Key,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-subj',
    '/CN=portproof test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const byCa = [...Leaf, '-CA', ca.cert, '-CAkey', ca.key];
  return {
    dir,
    selfSigned: issue(dir, 'self-signed', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1'),
    otherName: issue(dir, 'other-name', '/CN=other.example', 'DNS:other.example'),
    ca: ca.cert,
    leaf: issue(dir, 'leaf', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1', byCa),
    leafOtherName: issue(dir, 'leaf-other-name', '/CN=other.example', 'DNS:other.example', byCa),
  };
}

/** Remove the directory makeCertificates wrote. */
export function removeCertificates(certs: TestCertificates | undefined): void {
  if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
}
