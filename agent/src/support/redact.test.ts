import { expect, it } from "vitest";
import { REDACTED, redactText, redactValue } from "./redact.ts";

it("redacts secret keys of Helm values, keeps names of secrets and flags", () => {
  const v = redactValue({
    agent: {
      licenseToken: "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJsaWMifQ.c2lnbmF0dXJlLXh4eA",
      existingSecret: "my-secret",
      replicas: 1,
    },
    console: { password: "hunter2", username: "admin" },
    externalDatabase: { host: "db", existingSecret: "db-creds", password: "" },
    integrations: [
      { name: "orders", properties: { "camel.component.kafka.sasl-jaas-config": "x", "db.password": "p" } },
    ],
    tls: { enabled: true },
  }) as Record<string, Record<string, unknown>>;
  expect(v.agent).toEqual({ licenseToken: REDACTED, existingSecret: "my-secret", replicas: 1 });
  expect(v.console).toEqual({ password: REDACTED, username: "admin" });
  expect(v.externalDatabase?.existingSecret).toBe("db-creds");
  expect(JSON.stringify(v)).not.toContain('"p"');
  expect(v.tls).toEqual({ enabled: true });
});

it("scrubs secrets inside free text", () => {
  const s = redactText(
    "connecting to postgres://app:s3cret@db:5432/x with Authorization: Bearer abcdefghijklmnop token=xyz123 " +
      "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY----- jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N",
  );
  expect(s).not.toMatch(/s3cret|abcdefghijklmnop|xyz123|MIIEv|dozjgN/);
  expect(s).toContain("postgres://app:[redacted]@db");
});
