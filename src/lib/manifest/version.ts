/** PostgreSQL versions kpg supports, and reading `spec.version`. */

export const SUPPORTED_MAJORS = [
  '9.6',
  '10',
  '11',
  '12',
  '13',
  '14',
  '15',
  '16',
  '17',
  '18',
] as const;
export const SUPPORTED_LIST = '9.6, 10, 11, 12, 13, 14, 15, 16, 17 and 18';

export type VersionResult =
  { ok: true; version: string; major: string } | { ok: false; message: string };

// 9.6 | 9.6.7 | 15 | 15.2 | KubeDB catalog names: 9.6-v1, 9.6.7-v3, 11.1-v2
const VERSION = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?(?:-v\d{1,3})?$/;

/**
 * Reads a version as written in the manifest (`text` is the YAML source, so
 * `10.10` is not the float 10.1) and returns its major.
 */
export function parseVersion(text: string): VersionResult {
  const m = VERSION.exec(text.trim());
  if (!m) {
    return {
      ok: false,
      message:
        `"${text}" is not a PostgreSQL version kpg knows: kpg has no KubeDB version catalog, so write the version itself ` +
        `(supported: ${SUPPORTED_LIST}), e.g. "15" or "9.6-v1"`,
    };
  }
  const [, first, second] = m;
  const major = first === '9' ? `9.${second ?? ''}` : String(Number(first));
  if ((SUPPORTED_MAJORS as readonly string[]).includes(major))
    return { ok: true, version: text.trim(), major };
  return {
    ok: false,
    message: `PostgreSQL ${first === '9' ? major.replace(/\.$/, '') : major} is not supported (supported: ${SUPPORTED_LIST})`,
  };
}

/** Container image for a major. */
export function imageFor(major: string): string {
  return `postgres:${major}`;
}
