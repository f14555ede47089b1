// The ping fast path answers only frames the full parser would read as the same ping: exactly type, v and a finite t.
import { describe, expect, it } from "vitest";
import { parseAgentFrame } from "../../../shared/src/protocol/frames.ts";
import { pingTime } from "./session.ts";

const b = (s: string) => Buffer.from(s);

describe("pingTime", () => {
  it("reads t from a well-formed ping, whatever the key order", () => {
    expect(pingTime(b('{"type":"ping","t":1733300000123,"v":1}'))).toBe(1733300000123);
    expect(pingTime(b('{"v":1,"t":0.5,"type":"ping"}'))).toBe(0.5);
  });

  it("leaves everything else to the full parser", () => {
    for (const s of [
      '{"type":"ping","t":1}',
      '{"type":"ping","t":1,"v":2}',
      '{"type":"ping","t":"1","v":1}',
      '{"type":"ping","t":null,"v":1}',
      '{"type":"ping","t":1,"v":1,"x":0}',
      '{"type":"pong","t":1,"v":1}',
      '["type","ping"]',
      '{"type":"ping"',
      "null",
    ]) {
      expect(pingTime(b(s)), s).toBeUndefined();
    }
  });

  it("agrees with the full parser on what it accepts", () => {
    const s = '{"type":"ping","t":42,"v":1}';
    const parsed = parseAgentFrame(s);
    expect(parsed.ok && parsed.frame.type === "ping" && parsed.frame.t).toBe(pingTime(b(s)));
  });
});
