// Runs an UpscalerJS model with the package's own definition (custom layers, input and output
// ranges) on TensorFlow.js's CPU backend, on the package's assets/fixture.png, and writes the
// result as a PNG the way UpscalerJS does (clip to the output range, scale to 0..255, round).
//
// usage: node reference.js PACKAGE_DIR SCALE OUT.png [SIZE]  (run by `cargo xtask setup`)
// With SIZE, the model runs on the top-left SIZE x SIZE of the fixture (the CPU backend's time
// grows with the output's pixels), written as input.png beside OUT.png.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const layers = require('@tensorflow/tfjs-layers');
const { PNG } = require('pngjs');

async function main() {
  const [pkg, scaleArg, out, sizeArg] = process.argv.slice(2);
  const scale = Number(scaleArg);
  tf.enableProdMode(); // no "install the node backend" banner; numerics are unchanged
  await tf.setBackend('cpu');
  const meta = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  const variant = meta.name.split('/')[1];
  const def = require(path.resolve(pkg, 'dist/cjs/models', variant, 'src', `x${scale}`, 'cjs.js'));
  if (def.setup) def.setup({ ...tf, layers: layers.layers });
  const modelPath = path.join(pkg, def._internals.path);
  const json = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await layers.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));

  let png = PNG.sync.read(fs.readFileSync(path.join(pkg, 'assets/fixture.png')));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (sizeArg !== undefined) {
    const n = Math.min(Number(sizeArg), png.width, png.height);
    const crop = new PNG({ width: n, height: n });
    PNG.bitblt(png, crop, 0, 0, n, n, 0, 0);
    fs.writeFileSync(path.join(path.dirname(out), 'input.png'), PNG.sync.write(crop));
    png = crop;
  }
  const { width: w, height: h, data } = png;
  const [lo, hi] = def.inputRange;
  const rgb = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++)
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = lo + (data[i * 4 + c] / 255) * (hi - lo);
  const y = tf.tidy(() => model.predict(tf.tensor4d(rgb, [1, h, w, 3])));
  const [, oh, ow] = y.shape;
  const v = await y.data();
  const [olo, ohi] = def.outputRange;
  const img = new PNG({ width: ow, height: oh });
  for (let i = 0; i < oh * ow; i++) {
    for (let c = 0; c < 3; c++) {
      const t = (Math.min(Math.max(v[i * 3 + c], olo), ohi) - olo) / (ohi - olo);
      img.data[i * 4 + c] = Math.round(t * 255);
    }
    img.data[i * 4 + 3] = 255;
  }
  fs.writeFileSync(out, PNG.sync.write(img));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
