// An in-process cloud app for route tests: fresh database of the given kind, a bootstrap organisation with an admin key,
// and helpers to make more organisations and keys. Call `app.request()`; no port is opened.
import { randomBytes } from "node:crypto";
import pino from "pino";
import { type App, type CreateAppOptions, createApp } from "../../cloud/src/app.ts";
import { loadConfig } from "../../cloud/src/config.ts";
import type { Clock } from "../../cloud/src/lib/clock.ts";
import type { AppDeps, Role } from "../../cloud/src/lib/context.ts";
import { createDeps } from "../../cloud/src/server.ts";
import { createApiKey, createOrganisation } from "../../cloud/src/services/organisations.ts";
import type { TestDatabase, TestDbKind } from "./db.ts";

export interface TestOrg {
  orgId: string;
  /** admin key secret */
  admin: string;
  /** a key of the given role in this organisation */
  key(role: Role): Promise<string>;
}

export interface TestCloud {
  app: App;
  deps: AppDeps;
  database: TestDatabase;
  org: TestOrg;
  newOrg(name?: string): Promise<TestOrg>;
  /** Another app (own config, metrics, throttle, events) on the SAME database and organisation; its close() is a no-op. */
  sibling(env?: Record<string, string>): TestCloud;
  /** app.request with a Bearer key and a JSON body */
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestCloud(
  kind: TestDbKind,
  opts: { clock?: Clock; env?: Record<string, string>; app?: CreateAppOptions } = {},
): Promise<TestCloud> {
  const database = await kind.open();
  const keyEncryptionKey = randomBytes(32);
  const build = (env: Record<string, string> | undefined) => {
    const deps = createDeps(loadConfig({ LOG_LEVEL: "silent", ...env }), database, {
      logger: pino({ level: "silent" }),
      clock: opts.clock,
      keyEncryptionKey,
    });
    return { deps, app: createApp(deps, opts.app) };
  };
  const { deps, app } = build(opts.env);

  async function newOrg(name = "test org"): Promise<TestOrg> {
    const created = await createOrganisation(deps.db, { name, actorName: "test", at: deps.clock.now() });
    const orgId = created.organisation.id;
    return {
      orgId,
      admin: created.secret,
      async key(role: Role) {
        const { secret } = await createApiKey({
          ctx: { deps, actor: { orgId, keyId: "", role: "admin", name: "test" } },
          input: { name: `${role} key`, role },
        });
        return secret;
      },
    };
  }

  const org = await newOrg("first org");
  const make = (a: App, d: AppDeps, close: () => Promise<void>): TestCloud => ({
    app: a,
    deps: d,
    database,
    org,
    newOrg,
    sibling(env) {
      const other = build(env);
      return make(other.app, other.deps, async () => {});
    },
    call(method, path, { key, body, headers = {} } = {}) {
      const h: Record<string, string> = { ...headers };
      if (key) h.authorization = `Bearer ${key}`;
      if (body !== undefined) h["content-type"] = "application/json";
      return Promise.resolve(
        a.request(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }),
      );
    },
    close,
  });
  return make(app, deps, () => database.close());
}
