/**
 * A cluster's certificates: a CA of its own and a server certificate it
 * signed for the names clients and standbys use. ECDSA P-256 (every libpq and
 * OpenSSL kpg supports takes it; keys in milliseconds). Loaded only by the
 * commands that create the Secrets: the X.509 library is not start-up cost
 * for the others.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { TlsMaterial } from '../render/types.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/**
 * Nothing renews them while kpg is not running, and a standby that cannot
 * verify its primary stops streaming: ten years, and `kpg describe` shows the date.
 */
export const VALIDITY_DAYS = 3650;

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// The library's types name the DOM's Crypto, which Node's webcrypto implements.
x509.cryptoProvider.set(webcrypto as never);

export interface IssueInput {
  cluster: string;
  namespace: string;
  /** DNS names (wildcards allowed) and IP addresses for the server certificate. */
  dnsNames: string[];
  ips?: string[];
  now?: Date;
}

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex');

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** The CA (10 years) and the server certificate it signs, as PEM. */
export async function issueClusterCertificates(input: IssueInput): Promise<TlsMaterial> {
  const notBefore = new Date((input.now ?? new Date()).getTime() - 60_000);
  const notAfter = new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000);
  const subtle = webcrypto.subtle;
  const caKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    // Leading zero bit: a positive serial, as RFC 5280 asks.
    serialNumber: `7${serial().slice(1)}`,
    name: `CN=${input.cluster}.${input.namespace} kpg CA`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: `7${serial().slice(1)}`,
    subject: `CN=${input.cluster}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...input.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...(input.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
    ],
  });
  return {
    caCert: ca.toString('pem') + '\n',
    caKey: await pemKey(caKeys.privateKey),
    serverCert: server.toString('pem') + '\n',
    serverKey: await pemKey(serverKeys.privateKey),
  };
}
