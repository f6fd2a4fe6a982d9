/**
 * X.509 for the cluster: a CA, and server and client certificates it signs.
 * node-forge writes the certificates (no hand-rolled ASN.1); Node's crypto
 * makes the RSA keys (native, off the main thread) and checks what is
 * already on disk (X509Certificate).
 */
import { generateKeyPair, randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  /** PKCS#8 PEM. */
  key: string;
}

export interface IssueOptions {
  /** Subject common name. */
  commonName: string;
  /** Validity from `now` (minus 5 minutes, for clocks slightly behind), in days. */
  days: number;
  /** Default new Date(). */
  now?: Date;
}

/** RSA 2048: what every TLS stack accepts; handshakes are per connection, so the cost is not per call. */
const KEY_BITS = 2048;
const CLOCK_SKEW_MS = 5 * 60_000;

async function newKey(): Promise<{
  forgeKey: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
  pem: string;
}> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: KEY_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    forgeKey: forge.pki.privateKeyFromPem(privateKey),
    forgePublic: forge.pki.publicKeyFromPem(publicKey),
    pem: privateKey,
  };
}

/** A positive 128-bit serial with no leading zero byte (DER INTEGER, RFC 5280 4.1.2.2). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, o: IssueOptions): void {
  const now = (o.now ?? new Date()).getTime();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + o.days * 86_400_000);
}

/** A self-signed CA that may sign end-entity certificates only (path length 0). */
export async function createCa(o: IssueOptions): Promise<PemPair> {
  const k = await newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.forgePublic;
  cert.serialNumber = serialNumber();
  validity(cert, o);
  const name = [{ name: 'commonName', value: o.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(k.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: k.pem };
}

export interface LeafOptions extends IssueOptions {
  /** serverAuth (a service's listener) or clientAuth (the coordinator dialling backends). */
  usage: 'server' | 'client';
  /** DNS names and IP addresses the certificate is valid for. */
  names?: readonly string[];
}

/** An end-entity certificate signed by the CA. */
export async function issueLeaf(ca: PemPair, o: LeafOptions): Promise<PemPair> {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const k = await newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = k.forgePublic;
  cert.serialNumber = serialNumber();
  validity(cert, o);
  cert.setSubject([{ name: 'commonName', value: o.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    o.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (o.names && o.names.length > 0)
    extensions.push({
      name: 'subjectAltName',
      altNames: o.names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
    });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: k.pem };
}

/** A name as the SAN comparison sees it: DNS names lower case, IPv6 compressed. */
export function canonicalName(name: string): string {
  const bare = name.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 6) return new URL(`http://[${bare}]`).hostname.slice(1, -1);
  return bare.toLowerCase();
}

/** The DNS names and IP addresses a certificate is valid for. */
export function subjectAltNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(canonicalName);
}

/**
 * Why an existing certificate and key cannot be kept, or undefined when they
 * can: unreadable, a key that is not the certificate's, not signed by the CA,
 * expiring within `renewDays`, or missing one of `names`.
 */
export function reasonToReissue(
  pair: PemPair,
  ca: X509Certificate | undefined,
  o: { names?: readonly string[]; renewDays: number; now?: Date },
): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return 'its key is not the certificate key';
  } catch (err) {
    return `unreadable (${err instanceof Error ? err.message : String(err)})`;
  }
  const now = (o.now ?? new Date()).getTime();
  if (ca && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) return 'not signed by the cluster CA';
  if (new Date(cert.validTo).getTime() - now < o.renewDays * 86_400_000)
    return `it expires ${new Date(cert.validTo).toISOString()}`;
  if (new Date(cert.validFrom).getTime() > now + CLOCK_SKEW_MS) return 'not valid yet';
  const have = new Set(subjectAltNames(cert));
  const missing = (o.names ?? []).map(canonicalName).filter((n) => !have.has(n));
  if (missing.length > 0) return `not valid for ${missing.join(', ')}`;
  return undefined;
}
