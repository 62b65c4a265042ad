// An S3 server of the test's own (test/e2e/s3.ts): versitygw over TLS with a
// certificate of the cluster's CA, used from a client pod with rclone that
// verifies it; wrong keys and a client without the CA are refused. The
// refused image tags are in 36-images.test.ts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, exec, getJson } from '../../cluster/kube.js';
import { CLIENT_CA_FILE, deployS3, type S3 } from '../s3.js';

let ns = '';
let s3: S3;

describe('S3 in the cluster: versitygw over TLS, rclone', () => {
  beforeAll(async () => {
    ns = await createNamespace('e2e-s3');
    s3 = await deployS3(ns);
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('creates a bucket, uploads, reads back, lists and removes an object, verifying the cluster CA', async () => {
    expect(s3.endpoint).toBe(`https://s3.${ns}.svc:9000`);
    expect(s3.caPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await s3.createBucket('wal');
    const lsd = await s3.rclone(['lsd', 's3:']);
    expect(lsd.code, lsd.stderr).toBe(0);
    expect(lsd.stdout).toMatch(/\swal\n/);

    // Binary content, as a compressed WAL segment would be.
    const segment = randomBytes(256 * 1024);
    const key = 'ha-postgres/wal/000000010000000000000001.gz';
    await s3.write('wal', key, segment);
    await s3.write('wal', 'ha-postgres/basebackup/manifest.json', '{"ok":true}');
    expect(await s3.list('wal')).toEqual([
      'ha-postgres/basebackup/manifest.json',
      'ha-postgres/wal/000000010000000000000001.gz',
    ]);
    expect(await s3.list('wal', 'ha-postgres/wal/0000')).toEqual([key]);
    expect((await s3.read('wal', key)).equals(segment)).toBe(true);
    expect((await s3.read('wal', 'ha-postgres/basebackup/manifest.json')).toString()).toBe(
      '{"ok":true}',
    );
    await expect(s3.read('wal', 'ha-postgres/missing')).rejects.toThrow(/object not found/);

    await s3.remove('wal', key);
    expect(await s3.list('wal')).toEqual(['ha-postgres/basebackup/manifest.json']);
  });

  it('refuses a wrong secret key and an unknown access key', async () => {
    const wrongSecret = await s3.rclone(['lsd', 's3:'], {
      env: { RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: 'not-the-secret-key' },
    });
    expect(wrongSecret.code).not.toBe(0);
    expect(wrongSecret.stderr).toMatch(/SignatureDoesNotMatch/);
    const unknown = await s3.rclone(['lsd', 's3:'], {
      env: { RCLONE_CONFIG_S3_ACCESS_KEY_ID: 'nobody' },
    });
    expect(unknown.code).not.toBe(0);
    // versitygw's word for it (S3 says InvalidAccessKeyId).
    expect(unknown.stderr).toMatch(
      /XAdminUserNotFound: No user exists with the provided access key ID/,
    );
  });

  it('a client without the cluster CA fails to verify the server, so does one naming its IP; plain HTTP fails', async () => {
    const noCa = await s3.rclone(['lsd', 's3:', '--low-level-retries', '1', '--retries', '1'], {
      unset: ['RCLONE_CA_CERT'],
    });
    expect(noCa.code).not.toBe(0);
    expect(noCa.stderr).toMatch(/x509: certificate signed by unknown authority/);
    // The same CA file, the server named by its pod IP, which the certificate does not name.
    const ip = (await getJson<{ status: { podIP: string } }>(['-n', ns, 'pod', 's3'])).status.podIP;
    const byIp = await s3.rclone(['lsd', 's3:', '--low-level-retries', '1', '--retries', '1'], {
      env: { RCLONE_CONFIG_S3_ENDPOINT: `https://${ip}:9000` },
    });
    expect(byIp.code).not.toBe(0);
    expect(byIp.stderr).toMatch(
      /x509: cannot validate certificate for .* because it doesn't contain any IP SANs/,
    );
    const plain = await s3.rclone(['lsd', 's3:', '--low-level-retries', '1', '--retries', '1'], {
      env: { RCLONE_CONFIG_S3_ENDPOINT: `http://s3.${ns}.svc:9000` },
    });
    expect(plain.code).not.toBe(0);
  });

  it("storageSecret writes KubeDB's keys", async () => {
    await s3.storageSecret('s3-cred');
    await s3.storageSecret('s3-cred-other', { accessKey: 'a1', secretKey: 's1' });
    const data = async (name: string) => {
      const s = await getJson<{ data: Record<string, string> }>(['-n', ns, 'secret', name]);
      return Object.fromEntries(
        Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      );
    };
    expect(await data('s3-cred')).toEqual({
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.secretKey,
      CA_CERT_DATA: s3.caPem,
    });
    expect(await data('s3-cred-other')).toMatchObject({
      AWS_ACCESS_KEY_ID: 'a1',
      AWS_SECRET_ACCESS_KEY: 's1',
    });
  });

  it('each image has its own program in /usr/local/bin and none of the others', async () => {
    const look =
      'for t in versitygw rclone psql pg_basebackup node sh tar gzip; do printf "%s=%s\\n" $t "$(command -v $t)"; done';
    const tools = async (pod: string) => {
      const r = await exec(ns, pod, ['sh', '-c', look]);
      expect(r.code, r.stderr).toBe(0);
      return Object.fromEntries(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => l.split('=')),
      );
    };
    const common = { psql: '', pg_basebackup: '', node: '' };
    const server = await tools('s3');
    expect(server).toMatchObject({ ...common, versitygw: '/usr/local/bin/versitygw', rclone: '' });
    const client = await tools('s3-client');
    expect(client).toMatchObject({ ...common, versitygw: '', rclone: '/usr/local/bin/rclone' });
    for (const t of [server, client]) {
      for (const k of ['sh', 'tar', 'gzip']) expect(t[k]).not.toBe('');
    }
    expect((await exec(ns, 's3', ['versitygw', '--version'])).stdout).toMatch(
      /Version\s*:\s*v1\.8\.0/,
    );
    expect((await exec(ns, 's3-client', ['rclone', 'version'])).stdout).toMatch(/^rclone v1\.60\./);
    // The server runs as root (the image has no USER), its keys out of its command line.
    const ps = await exec(ns, 's3', ['sh', '-c', 'id -u; cat /proc/1/cmdline | tr "\\0" " "']);
    expect(ps.stdout).toMatch(/^0\n/);
    expect(ps.stdout).toContain('/usr/local/bin/versitygw --port :9000 --cert');
    expect(ps.stdout).not.toContain(s3.secretKey);
    expect((await exec(ns, 's3-client', ['cat', CLIENT_CA_FILE])).stdout).toBe(s3.caPem);
  });
});
