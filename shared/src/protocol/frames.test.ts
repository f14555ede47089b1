// The frame contract: every close path of the parser, per-type limits, and the digest both ends compute.
import { describe, expect, it } from "vitest";
import {
  CloseCode,
  closeCodeName,
  desiredStateDigest,
  encodeFrame,
  frameLimits,
  MAX_FRAME_BYTES,
  parseAgentFrame,
  parseCloudFrame,
  retryAfterFromReason,
} from "./frames.ts";

describe("link frames", () => {
  it("parses a valid hello and round-trips encodeFrame", () => {
    const text = encodeFrame({
      type: "hello",
      applianceId: "apl_x",
      agentVersion: "1",
      capabilities: [],
      lastCommandSeq: 0,
      lastEventSeq: 0,
      observedGeneration: 0,
      stateDigest: "",
    });
    const r = parseAgentFrame(text);
    expect(r.ok && r.frame.type).toBe("hello");
  });

  it.each([
    ["not JSON", "{", CloseCode.PROTOCOL_ERROR],
    ["array", "[1]", CloseCode.PROTOCOL_ERROR],
    ["no type", '{"v":1}', CloseCode.PROTOCOL_ERROR],
    ["unknown type", '{"type":"x","v":1}', CloseCode.UNKNOWN_FRAME],
    ["cloud-only type from an agent", '{"type":"welcome","v":1}', CloseCode.UNKNOWN_FRAME],
    ["unknown version", '{"type":"ping","v":2,"t":1}', CloseCode.UNKNOWN_FRAME],
    ["schema failure", '{"type":"command.ack","v":1,"upTo":-1}', CloseCode.PROTOCOL_ERROR],
  ])("refuses %s", (_name, text, code) => {
    const r = parseAgentFrame(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe(code);
  });

  it("enforces per-type and overall limits", () => {
    const big = JSON.stringify({ type: "ping", v: 1, t: 1, pad: "x".repeat(frameLimits.ping) });
    expect(parseAgentFrame(big)).toMatchObject({ ok: false, code: CloseCode.FRAME_TOO_LARGE });
    expect(parseCloudFrame("x".repeat(MAX_FRAME_BYTES + 1))).toMatchObject({
      ok: false,
      code: CloseCode.MESSAGE_TOO_BIG,
    });
  });

  it("names close codes, reads retry-after reasons, and digests desired state stably", () => {
    expect(closeCodeName(4009)).toBe("SUPERSEDED");
    expect(closeCodeName(4999)).toBe("UNKNOWN");
    expect(retryAfterFromReason("retryAfterMs=1234")).toBe(1234);
    const d = { generation: 3, valuesDigest: "v", release: { id: "rel_1" } };
    expect(desiredStateDigest(d)).toBe(desiredStateDigest({ ...d }));
    expect(desiredStateDigest(d)).not.toBe(desiredStateDigest({ ...d, generation: 4 }));
    expect(desiredStateDigest(null)).toBe("");
  });
});
