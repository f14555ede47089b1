// Builds the per-Kubernetes-version schema files in this folder from the models that @kubernetes/client-node
// generates from each Kubernetes release's OpenAPI document (one client-node release per Kubernetes minor).
//
//   mkdir -p /tmp/k8s-openapi && cd /tmp/k8s-openapi
//   for v in 0.22.3 1.1.2 1.3.0 1.4.0 2.0.1; do npm pack @kubernetes/client-node@$v; mkdir $v; tar xzf kubernetes-client-node-$v.tgz -C $v; done
//   node test/charts/k8s-schemas/generate.mjs /tmp/k8s-openapi/0.22.3/package ...
//
// Each output file holds, for one Kubernetes version: the served group/version/kind -> model map (from the API
// classes' create methods) and every model's fields (name -> type, from the OpenAPI-derived attributeTypeMap) and
// required fields (from the non-optional properties of the generated declarations).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

const groupOf = {
  Core: "",
  Apps: "apps",
  Batch: "batch",
  Autoscaling: "autoscaling",
  Policy: "policy",
  Networking: "networking.k8s.io",
  RbacAuthorization: "rbac.authorization.k8s.io",
  Coordination: "coordination.k8s.io",
  Storage: "storage.k8s.io",
  Scheduling: "scheduling.k8s.io",
  Discovery: "discovery.k8s.io",
  Events: "events.k8s.io",
  Certificates: "certificates.k8s.io",
  Node: "node.k8s.io",
  Apiextensions: "apiextensions.k8s.io",
  Admissionregistration: "admissionregistration.k8s.io",
};

function generate(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const gen = join(pkgDir, "dist", "gen");
  const modelDir = existsSync(join(gen, "models")) ? join(gen, "models") : join(gen, "model");
  const apiDir = existsSync(join(gen, "apis")) ? join(gen, "apis") : join(gen, "api");
  let k8sVersion;
  const models = {};
  for (const f of readdirSync(modelDir)) {
    if (!f.endsWith(".js")) continue;
    const js = readFileSync(join(modelDir, f), "utf8");
    const cls = /^(?:export )?class (\w+) \{/m.exec(js)?.[1];
    const at = js.indexOf(".attributeTypeMap = [");
    if (!cls || at < 0) continue;
    const start = js.indexOf("[", at);
    const end = js.indexOf("\n];", start);
    const map = JSON.parse(js.slice(start, end + 2));
    const v = /(?:OpenAPI spec version|version of the OpenAPI document): (?:v|release-)?(\d+\.\d+)/.exec(js)?.[1];
    if (v) k8sVersion ??= v;
    const dts = readFileSync(join(modelDir, f.replace(/\.js$/, ".d.ts")), "utf8");
    const required = [];
    const fields = {};
    for (const a of map) {
      fields[a.baseName] = a.type;
      const re = new RegExp(`^\\s*'${a.name}':`, "m");
      if (re.test(dts)) required.push(a.baseName);
    }
    models[cls] = { fields, required };
  }
  const kinds = {};
  for (const f of readdirSync(apiDir)) {
    const m = /^(\w+?)(V\d+(?:alpha\d+|beta\d+)?)Api\.d\.ts$/i.exec(f);
    if (!m) continue;
    const prefix = m[1].charAt(0).toUpperCase() + m[1].slice(1);
    const group = groupOf[prefix];
    if (group === undefined) continue;
    const version = m[2].toLowerCase();
    const dts = readFileSync(join(apiDir, f), "utf8");
    for (const c of dts.matchAll(/\bcreate(?:Namespaced)?(\w+)\((?:namespace: string, )?body: (\w+)/g)) {
      const kind = c[1];
      const model = c[2];
      if (!models[model]) continue;
      kinds[`${group ? `${group}/` : ""}${version}/${kind}`] = model;
    }
  }
  if (!k8sVersion) throw new Error(`${pkgDir}: no Kubernetes version found`);
  const out = {
    kubernetes: k8sVersion,
    source: `@kubernetes/client-node@${pkg.version} (generated from the Kubernetes ${k8sVersion} OpenAPI document)`,
    kinds,
    models,
  };
  const file = join(here, `${k8sVersion}.json`);
  writeFileSync(file, `${JSON.stringify(out)}\n`);
  console.log(
    `${basename(file)}: ${Object.keys(kinds).length} kinds, ${Object.keys(models).length} models from ${pkg.version}`,
  );
}

for (const dir of process.argv.slice(2)) generate(dir);
