#!/usr/bin/env bash
# Regenerates classes.txt, the 1000 ImageNet class names in index order, from
# the npm package @tensorflow-models/mobilenet (Apache-2.0), whose
# dist/imagenet_classes.js maps index to name. The ONNX Model Zoo's
# torchvision and MXNet MobileNetV2 models use the same index order.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @tensorflow-models/mobilenet@2.1.1 >/dev/null && tar xzf tensorflow-models-mobilenet-*.tgz)
node -e '
const c = require(process.argv[1]).IMAGENET_CLASSES;
const out = [];
for (let i = 0; i < 1000; i++) {
  if (typeof c[i] !== "string") throw new Error("missing class " + i);
  out.push(c[i]);
}
process.stdout.write(out.join("\n") + "\n");
' "$tmp/package/dist/imagenet_classes.js" >classes.txt
