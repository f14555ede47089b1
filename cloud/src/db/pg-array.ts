// Postgres array literals passed as one text parameter, for statements over unnest(<one array per column>).

/** A Postgres array literal (`{"a","b",NULL}`) passed as one text parameter: both drivers send it as-is. */
export function pgArray(values: Array<string | null>): string {
  return `{${values.map((v) => (v === null ? "NULL" : `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)).join(",")}}`;
}
