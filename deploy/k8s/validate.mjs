// Validates the rendered manifests (stdin: `kubectl kustomize deploy/k8s`) offline: every object against the
// Kubernetes schemas bundled in the npm package kubernetes-models, then Tally's own rules (probes, resource
// requests, the Orleans pod labels and downward-API variables, the objects a deployment needs). Exit 1 on any error.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const require = createRequire(process.env.TALLY_K8S_MODULES + "/");
const yaml = require("js-yaml");
const docs = yaml.loadAll(readFileSync(0, "utf8")).filter(Boolean);
const errors = [];
const seen = new Set();

async function modelFor(apiVersion, kind) {
  // The package is ES modules only; its files are imported by path.
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  const file = `${process.env.TALLY_K8S_MODULES}/kubernetes-models/${group ? group + "/" : ""}${version}/${kind}.js`;
  return (await import(pathToFileURL(file).href))[kind];
}

for (const doc of docs) {
  const name = `${doc.kind}/${doc.metadata?.name}`;
  seen.add(name);
  try {
    const Model = await modelFor(doc.apiVersion, doc.kind);
    new Model(doc).validate();
  } catch (e) {
    errors.push(`${name}: ${e.message}`);
    continue;
  }
  const pod = doc.kind === "CronJob" ? doc.spec.jobTemplate.spec.template.spec : doc.spec?.template?.spec;
  if (!pod) continue;
  for (const c of pod.containers) {
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) errors.push(`${name}/${c.name}: no cpu and memory requests`);
    if (!c.image || !c.image.includes(":")) errors.push(`${name}/${c.name}: image without a tag`);
    if (doc.kind === "Deployment") {
      if (c.livenessProbe?.httpGet?.path !== "/health/live") errors.push(`${name}/${c.name}: liveness probe is not /health/live`);
      if (c.readinessProbe?.httpGet?.path !== "/health/ready") errors.push(`${name}/${c.name}: readiness probe is not /health/ready`);
    }
  }
  if (doc.kind === "Deployment" && doc.metadata.name === "tally-silo") {
    const labels = doc.spec.template.metadata.labels;
    if (!labels["orleans/serviceId"] || !labels["orleans/clusterId"]) errors.push(`${name}: pods lack the orleans/serviceId and orleans/clusterId labels`);
    const env = new Set(pod.containers[0].env.map((e) => e.name));
    for (const v of ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID"])
      if (!env.has(v)) errors.push(`${name}: no ${v} (Orleans Kubernetes hosting needs it)`);
    if (pod.serviceAccountName !== "tally-silo") errors.push(`${name}: not run as the tally-silo service account`);
  }
}

for (const required of ["Namespace/tally", "Secret/tally-secrets", "ServiceAccount/tally-silo", "Role/tally-silo", "RoleBinding/tally-silo",
  "Deployment/tally-silo", "Deployment/tally-api", "Service/tally-api", "PodDisruptionBudget/tally-silo", "PodDisruptionBudget/tally-api",
  "Job/tally-migrations", "CronJob/tally-maintenance"])
  if (!seen.has(required)) errors.push(`missing ${required}`);

if (errors.length) {
  for (const e of errors) console.error("invalid: " + e);
  process.exit(1);
}
console.log(`${docs.length} objects valid (${[...seen].join(", ")})`);
