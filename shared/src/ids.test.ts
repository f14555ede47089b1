// Ids: typed prefix, 26 Crockford base32 characters, sortable by creation even within one millisecond.
import { describe, expect, it } from "vitest";
import { isId, newId } from "./ids.ts";

describe("newId", () => {
  it("makes typed ids that isId recognises", () => {
    const id = newId("license");
    expect(id).toMatch(/^lic_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(isId("license", id)).toBe(true);
    expect(isId("customer", id)).toBe(false);
  });

  it("sorts in creation order, also within one millisecond and when the clock steps back", () => {
    const at = Date.now();
    const ids = [
      newId("audit", at),
      newId("audit", at),
      newId("audit", at),
      newId("audit", at - 5),
      newId("audit", at + 1),
    ];
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
