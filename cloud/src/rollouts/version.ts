// Version ordering: a semver string made sortable as text, so the fleet list sorts versions in an index.
const SEMVER = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+[0-9A-Za-z.-]{1,64})?$/;

export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}

/**
 * `1.2.3` -> `000000001.000000002.000000003~`, `1.2.3-rc.1` -> `000000001.000000002.000000003-rc.000000001`:
 * numbers are zero-padded, and a release sorts after its pre-releases because `~` sorts after `-`.
 */
export function versionKey(version: string): string {
  const m = SEMVER.exec(version);
  if (!m) return `~${version}`; // not semver: after every semver, in text order
  const pad = (n: string) => n.padStart(9, "0");
  const core = `${pad(m[1]!)}.${pad(m[2]!)}.${pad(m[3]!)}`;
  if (!m[4]) return `${core}~`;
  const pre = m[4]
    .split(".")
    .map((p) => (/^\d+$/.test(p) ? pad(p) : p))
    .join(".");
  return `${core}-${pre}`;
}
