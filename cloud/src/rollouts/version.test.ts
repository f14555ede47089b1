import { describe, expect, it } from "vitest";
import { versionKey } from "./version.ts";

describe("versionKey", () => {
  it("sorts semver correctly as text", () => {
    const versions = ["1.10.0", "1.9.0", "1.9.0-rc.2", "1.9.0-rc.10", "0.1.0", "2.0.0", "1.9.1"];
    const sorted = [...versions].sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : 1));
    expect(sorted).toEqual(["0.1.0", "1.9.0-rc.2", "1.9.0-rc.10", "1.9.0", "1.9.1", "1.10.0", "2.0.0"]);
  });
});
