// The draw page's look-inside views: what the convnet and the site's best network compute
// for the drawing on the board (draw.js), live, in the browser.
//
// The page holds a `.mnist-book-inside` element: a line for readers without JavaScript and a
// link to the build's manifest (models.json), whose `inside` entry describes everything here:
// each model's reading export (an ONNX file whose one run gives every layer's output, the
// prediction and the evidence maps), the occlusion patch, and the convnet's map of the test
// digits, and the chapter's colours for signed values (in the page's light or dark scheme).
// Nothing loads until the board has read a drawing (its runtime is then loaded: this module
// imports the same one); each file's failure is told in its own view only.
//
// After each reading the element dispatches `mnist-book-inside:read`, whose detail holds the
// model's name, the input, every output (typed arrays, by name), the session's milliseconds
// and, on the map, the drawing's place and its nearest test digits; after each occlusion
// run, `mnist-book-inside:occluded` with the drops in probability.

import { element, fetchBytes, onEveryPage, percent, scoreText } from "./draw-common.js";
import {
  argmax,
  mapsCanvasSize,
  nearestPoints,
  outlinePath,
  paintCells,
  paintMaps,
  paintScale,
  palette,
  sum,
} from "./draw-inside-pictures.js";
import { SIZE } from "./draw-input.js";

const OCCLUDE_AFTER = 150; // ms without a new reading before the occlusion view runs
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#79706e",
]; // one colour per digit (Tableau 10), on the map's own light background
const SVG = "http://www.w3.org/2000/svg";
const mounted = new WeakSet();

function times(shape) {
  return shape.join("×");
}

// A canvas of `width` x `height` pixels, shown as an image with `label` for screen readers.
function picture(width, height, label, className = "mnist-book-inside__picture") {
  return element("canvas", { class: className, width, height, role: "img", "aria-label": label });
}

// A map of signed values over the drawing: its canvas (SIZE x SIZE, enlarged by CSS) under
// an SVG outline of the drawing's strokes (a line on a halo of the page's background).
function signedPicture(label) {
  const canvas = picture(SIZE, SIZE, label, "mnist-book-inside__cells");
  const paths = [0, 1].map(() => document.createElementNS(SVG, "path"));
  const outline = document.createElementNS(SVG, "svg");
  for (const [name, value] of Object.entries({
    class: "mnist-book-inside__outline",
    viewBox: `0 0 ${SIZE} ${SIZE}`,
    "aria-hidden": "true",
  })) {
    outline.setAttribute(name, value);
  }
  outline.append(...paths);
  const box = element("div", { class: "mnist-book-inside__signed" }, canvas, outline);
  return { box, canvas, paths };
}

// Paint `grid` (cells of `geometry`, see paintCells) on `shown` from -limit to limit, with
// the outline of `input`'s strokes over it.
function paintSigned(shown, input, grid, shape, geometry, limit, colours) {
  paintCells(shown.canvas, grid, shape, geometry, limit, colours);
  const strokes = outlinePath(input, colours.level);
  for (const path of shown.paths) path.setAttribute("d", strokes);
  shown.paths[1].setAttribute("stroke", colours.outline);
}

// A colour bar with three ticks under it (low, zero, high) and a sentence saying what it is.
function colourScale() {
  const bar = element("canvas", { class: "mnist-book-inside__colourbar", "aria-hidden": "true" });
  const ticks = [0, 1, 2].map(() => element("span"));
  const caption = element("p", { class: "mnist-book-inside__summary" });
  const node = element(
    "div",
    { class: "mnist-book-inside__scale" },
    bar,
    element("div", { class: "mnist-book-inside__ticks", "aria-hidden": "true" }, ...ticks),
    caption,
  );
  return { node, bar, ticks, caption };
}

function showScale(scale, colours, labels, text) {
  paintScale(scale.bar, colours);
  scale.ticks.forEach((tick, index) => {
    tick.textContent = labels[index];
  });
  scale.caption.textContent = text;
}

// What a layer's output says, in a sentence (its picture's description too).
function summary(output, values, entry) {
  const [first] = output.shape;
  if (output.name === entry.prediction) {
    const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]);
    const say = (digit) => `${digit} (${scoreText(entry.activation, values[digit])})`;
    return `Reads ${say(order[0])}; next ${say(order[1])}.`;
  }
  let active = 0;
  for (const value of values) if (value > 0) active += 1;
  const peak = argmax(values);
  if (output.shape.length === 3) {
    const [rows, columns, channels] = output.shape;
    const strongest = peak % channels;
    return (
      `${channels} maps of ${rows}×${columns}; ${percent(active / values.length)} of the ` +
      `values above zero; the strongest is map ${strongest + 1} (peak ${values[peak].toFixed(2)}).`
    );
  }
  if (output.kind === "Dense") {
    const strongest = `unit ${peak + 1} (${values[peak].toFixed(2)})`;
    return `${first} units, ${active} of them active; the strongest is ${strongest}.`;
  }
  return `${first} values, ${active} above zero.`;
}

class Inside {
  constructor(root, board) {
    this.root = root;
    this.board = board;
    const link = root.querySelector("a[href$='.json']");
    this.manifestURL = link ? link.href : null;
    this.input = null;
    this.pending = false;
    this.busy = false;
    this.timer = null;
    this.palettes = {};
  }

  // The chapter's colours for signed values, in the page's scheme (Material's "slate": dark).
  colours() {
    const theme = document.body.dataset.mdColorScheme === "slate" ? "dark" : "light";
    this.palettes[theme] ??= palette(this.manifest.inside.colours[theme]);
    return this.palettes[theme];
  }

  async start() {
    this.status = element("p", { class: "mnist-book-inside__status", role: "status" });
    this.root.replaceChildren(this.status);
    try {
      if (!this.manifestURL) throw new Error("The page has no link to its manifest.");
      const answer = await fetch(this.manifestURL);
      if (!answer.ok) throw new Error(`${this.manifestURL} answered HTTP ${answer.status}.`);
      this.manifest = await answer.json();
      if (!this.manifest.inside?.models?.length) throw new Error("It lists no model to open.");
    } catch (error) {
      this.root.replaceChildren(this.message(`The views could not be set up. ${error.message}`));
      return;
    }
    this.build();
    this.say("Draw a digit on the board above: these views follow it.");
    this.board.addEventListener("mnist-book-draw:read", (event) => {
      this.input = event.detail.input && Float32Array.from(event.detail.input);
      if (this.input) this.load(); // the files load once the reader has drawn
      if (this.loaded) this.request();
    });
    // The reader switches the scheme: paint the views again in its colours.
    const scheme = new MutationObserver(() => {
      if (!this.root.isConnected) scheme.disconnect();
      else if (this.loaded && this.input) this.request();
    });
    scheme.observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  }

  url(file) {
    return new URL(file, this.manifestURL).href;
  }

  message(text) {
    return element("p", { class: "mnist-book-inside__error", role: "alert", text });
  }

  say(text) {
    this.status.textContent = text;
  }

  build() {
    const inside = this.manifest.inside;
    const choice = element(
      "fieldset",
      { class: "mnist-book-inside__choice" },
      element("legend", { text: "Look inside" }),
    );
    inside.models.forEach((entry, index) => {
      const id = `mnist-book-inside-${entry.name}`;
      const radio = element("input", {
        type: "radio",
        name: "mnist-book-inside",
        id,
        value: index,
      });
      if (index === 0) radio.checked = true;
      radio.addEventListener("change", () => {
        this.chosen = index;
        this.request();
      });
      choice.append(
        element("label", { for: id }, radio, " ", element("code", { text: entry.label })),
      );
    });
    this.chosen = 0;
    this.views = {
      layers: element("div", { class: "mnist-book-inside__layers" }),
      evidence: element("div", { class: "mnist-book-inside__evidence" }),
      occlusion: element("div", { class: "mnist-book-inside__occlusion" }),
      map: element("div", { class: "mnist-book-inside__map" }),
    };
    const section = (title, view) =>
      element(
        "section",
        { class: "mnist-book-inside__view" },
        element("h3", { text: title }),
        view,
      );
    this.root.replaceChildren(
      choice,
      this.status,
      section("Layer by layer", this.views.layers),
      section("Where the evidence is", this.views.evidence),
      section("What hiding a patch does", this.views.occlusion),
      section("Where the drawing lands", this.views.map),
    );
  }

  // The chosen model's sessions and the map, each loaded once, each failing on its own.
  load() {
    if (this.loaded) return;
    const inside = this.manifest.inside;
    const runtime = this.manifest.runtime;
    const ort = import(this.url(runtime.module.file));
    this.models = inside.models.map((entry) => ({
      entry,
      ready: (async () => {
        const file = this.url(entry.file);
        const bytes = await fetchBytes(file, `The reading file of ${entry.label}`);
        try {
          return await (await ort).InferenceSession.create(bytes);
        } catch (error) {
          throw new Error(
            `The reading file ${file} of ${entry.label} is damaged: ${error.message}`,
          );
        }
      })(),
    }));
    this.map = inside.map && this.loadMap(inside.map);
    this.ort = ort;
    this.loaded = true;
  }

  async loadMap(map) {
    const [arrays, digits] = await Promise.all([
      fetchBytes(this.url(map.file), "The map's file"),
      fetchBytes(this.url(map.digits.file), "The test digits' file"),
    ]);
    const unpacked = {};
    for (const [name, { offset, dtype, shape }] of Object.entries(map.arrays)) {
      const Type = dtype === "float32" ? Float32Array : Uint8Array;
      const count = shape.reduce((a, b) => a * b, 1);
      if (offset + count * Type.BYTES_PER_ELEMENT > arrays.byteLength) {
        throw new Error(`The map's file ${this.url(map.file)} is damaged: it is too short.`);
      }
      unpacked[name] = new Type(
        arrays.buffer.slice(offset, offset + count * Type.BYTES_PER_ELEMENT),
      );
    }
    let images = digits;
    if (digits[0] === 0x1f && digits[1] === 0x8b) {
      try {
        const stream = new Blob([digits]).stream().pipeThrough(new DecompressionStream("gzip"));
        images = new Uint8Array(await new Response(stream).arrayBuffer());
      } catch (error) {
        throw new Error(
          `The test digits' file ${this.url(map.digits.file)} is damaged: ${error.message}`,
        );
      }
    }
    const expected = map.digits.header + map.digits.shape.reduce((a, b) => a * b, 1);
    if (images.length !== expected) {
      const file = this.url(map.digits.file);
      throw new Error(
        `The test digits' file ${file} is damaged: ${images.length} bytes, not ${expected}.`,
      );
    }
    return { ...unpacked, images: images.subarray(map.digits.header) };
  }

  request() {
    this.pending = true;
    if (!this.busy) this.read();
  }

  async read() {
    this.busy = true;
    try {
      while (this.pending) {
        this.pending = false;
        const model = this.models[this.chosen];
        const input = this.input;
        let session;
        try {
          session = await model.ready;
        } catch (error) {
          this.fail(model.entry, error);
          continue;
        }
        if (!input) {
          this.clear(model.entry);
          continue;
        }
        const { Tensor } = await this.ort;
        const feeds = {
          [this.manifest.input]: new Tensor("float32", input, [1, ...model.entry.input_shape]),
        };
        const started = performance.now();
        const results = await session.run(feeds);
        const ms = performance.now() - started;
        const outputs = {};
        for (const output of model.entry.outputs) {
          outputs[output.name] = results[output.same_as ?? output.name].data;
        }
        const drawn = performance.now();
        const reading = { model: model.entry.name, input, outputs, ms };
        this.showLayers(model.entry, outputs);
        this.showEvidence(model.entry, input, outputs);
        Object.assign(reading, await this.showMap(model.entry, outputs));
        reading.drawMs = performance.now() - drawn;
        this.say("");
        this.root.dispatchEvent(new CustomEvent("mnist-book-inside:read", { detail: reading }));
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.occlude(model, session, input, outputs), OCCLUDE_AFTER);
      }
    } finally {
      this.busy = false;
    }
  }

  // Show `children` in `view` instead of what it showed (which is built anew next time).
  reset(view, ...children) {
    delete view.dataset.model;
    view.replaceChildren(...children);
  }

  fail(entry, error) {
    const text = `${error.message} The board's own readings above are not affected.`;
    for (const view of [this.views.layers, this.views.evidence, this.views.occlusion]) {
      this.reset(view, this.message(text));
    }
    if (entry.name === this.manifest.inside.map?.model) {
      this.reset(this.views.map, this.message(text));
    }
    this.say(`The views of ${entry.label} could not be loaded.`);
  }

  clear() {
    clearTimeout(this.timer);
    for (const view of Object.values(this.views)) this.reset(view);
    this.say("Draw a digit on the board above: these views follow it.");
  }

  showLayers(entry, outputs) {
    const view = this.views.layers;
    if (view.dataset.model !== entry.name) {
      view.dataset.model = entry.name;
      view.replaceChildren();
      this.layerNodes = entry.outputs
        .filter((output) => output.kind !== "Evidence")
        .map((output) => {
          let picture_ = null;
          if (output.shape.length === 3) {
            const [width, height] = mapsCanvasSize(output.shape);
            picture_ = picture(width, height, output.name, "mnist-book-inside__maps");
          } else if (output.kind === "Dense") {
            picture_ = element("ol", { class: "mnist-book-inside__units", "aria-hidden": "true" });
            const count = output.shape[0];
            const scores = output.name === entry.prediction;
            for (let unit = 0; unit < count; unit++) {
              const bar = scores
                ? [element("span", { class: "mnist-book-inside__bar" }), String(unit)]
                : [];
              picture_.append(element("li", {}, ...bar));
            }
            if (scores) picture_.classList.add("mnist-book-inside__units--scores");
          }
          const text = element("p", { class: "mnist-book-inside__summary" });
          const node = element(
            "figure",
            { class: "mnist-book-inside__layer" },
            element(
              "figcaption",
              {},
              element("code", { text: output.name }),
              ` ${output.kind}, ${times(output.shape)}`,
            ),
            ...(picture_ ? [picture_] : []),
            text,
          );
          view.append(node);
          return { output, picture: picture_, text };
        });
    }
    for (const { output, picture: shown, text } of this.layerNodes) {
      const values = outputs[output.name];
      const said = summary(output, values, entry);
      text.textContent = said;
      if (!shown) continue;
      if (output.shape.length === 3) {
        paintMaps(shown, values, output.shape);
        shown.setAttribute("aria-label", `${output.name}: ${said}`);
      } else {
        let largest = 0;
        for (const value of values) largest = Math.max(largest, Math.abs(value));
        const scores = output.name === entry.prediction; // already in [0, 1]
        Array.from(shown.children).forEach((unit, index) => {
          const value = scores
            ? values[index]
            : largest > 0
              ? Math.max(0, values[index]) / largest
              : 0;
          unit.style.setProperty("--value", value);
        });
      }
    }
  }

  showEvidence(entry, input, outputs) {
    const view = this.views.evidence;
    const evidence = entry.evidence;
    if (!evidence) {
      view.dataset.model = entry.name;
      view.replaceChildren(
        element("p", {
          text:
            `${entry.label}'s last layer reads ${entry.reads}, whose units have no place in ` +
            "the drawing: there is no exact map of its evidence. The occlusion view below asks " +
            "the question by experiment instead.",
        }),
      );
      return;
    }
    const [rows, columns] = evidence.shape;
    const maps = outputs[evidence.output];
    const cell = rows * columns;
    let largest = 0;
    for (const value of maps) largest = Math.max(largest, Math.abs(value));
    if (view.dataset.model !== entry.name) {
      view.dataset.model = entry.name;
      this.evidenceNodes = [];
      const grid = element("div", { class: "mnist-book-inside__digits" });
      for (let digit = 0; digit < 10; digit++) {
        const shown = signedPicture(`Evidence for ${digit}`);
        const caption = element("figcaption");
        grid.append(element("figure", {}, shown.box, caption));
        this.evidenceNodes.push({ shown, caption });
      }
      this.evidenceScale = colourScale();
      this.evidenceText = element("p", { class: "mnist-book-inside__summary" });
      view.replaceChildren(grid, this.evidenceScale.node, this.evidenceText);
    }
    const colours = this.colours();
    const logits = [];
    for (let digit = 0; digit < 10; digit++) {
      const grid = maps.subarray(digit * cell, (digit + 1) * cell);
      const total = sum(grid);
      logits.push(total + evidence.bias[digit]);
      const { shown, caption } = this.evidenceNodes[digit];
      paintSigned(shown, input, grid, [rows, columns], evidence, largest, colours);
      const canvas = shown.canvas;
      caption.textContent = `${digit}: ${logits[digit].toFixed(1)}`;
      const where = argmax(grid);
      const row = Math.floor(where / columns) + 1;
      const column = (where % columns) + 1;
      canvas.setAttribute(
        "aria-label",
        `Evidence for ${digit}: the map sums to ${total.toFixed(2)}, ` +
          `logit ${logits[digit].toFixed(2)}; strongest for it at row ${row}, ` +
          `column ${column} of ${rows}×${columns}.`,
      );
    }
    const top = argmax(logits);
    const topSum = logits[top] - evidence.bias[top];
    const bias = evidence.bias[top].toFixed(3);
    const reads = evidence.reads ?? "the input";
    const limit = largest.toFixed(2);
    showScale(
      this.evidenceScale,
      colours,
      [`−${limit}`, "0", `+${limit}`],
      `Each square's part of the digit's logit, on one scale for the ten maps, up to this ` +
        `drawing's largest part (±${limit}): blue counted for the digit, red against. ` +
        "The grey line outlines your strokes.",
    );
    const square = evidence.step === 1 ? "pixel" : `${evidence.step}×${evidence.step} square`;
    this.evidenceText.textContent =
      `Logit of ${top} = ${topSum.toFixed(3)} (its map's sum) + ${bias} (bias) = ` +
      `${logits[top].toFixed(3)}. Each map has ${rows}×${columns} places of ${reads}, ` +
      `each drawn as the ${square} around the centre of the part of the drawing it sees.`;
    this.logits = logits;
  }

  async showMap(entry, outputs) {
    const view = this.views.map;
    const map = this.manifest.inside.map;
    if (!map || entry.name !== map.model) {
      view.dataset.model = entry.name;
      view.replaceChildren(
        element("p", {
          text: `The map shows ${map ? map.model : "no model"}'s features: choose it above.`,
        }),
      );
      return {};
    }
    let data;
    try {
      data = await this.map;
    } catch (error) {
      this.reset(view, this.message(`${error.message} The other views are not affected.`));
      return {};
    }
    if (view.dataset.model !== entry.name) {
      view.dataset.model = entry.name;
      this.buildMap(view, map, data);
    }
    const features = outputs[map.features];
    const [dimensions, length] = map.arrays.components.shape;
    const point = Array.from({ length: dimensions }, (_, axis) => {
      let total = 0;
      for (let i = 0; i < length; i++) {
        total += (features[i] - data.mean[i]) * data.components[axis * length + i];
      }
      return total;
    });
    const count = data.labels.length;
    const nearest = nearestPoints(data.points, point, map.neighbours);
    this.drawMap(data, point);
    nearest.forEach((index, place) => {
      const { canvas, caption } = this.neighbourNodes[place];
      const context = canvas.getContext("2d");
      const image = context.createImageData(SIZE, SIZE);
      const pixels = data.images.subarray(index * SIZE * SIZE, (index + 1) * SIZE * SIZE);
      pixels.forEach((value, i) => {
        image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = value;
        image.data[4 * i + 3] = 255;
      });
      context.putImageData(image, 0, 0);
      const label = data.labels[index],
        read = data.predictions[index];
      caption.textContent = label === read ? `a ${label}` : `a ${label}, read ${read}`;
      canvas.setAttribute(
        "aria-label",
        `Test digit ${index}: a ${label}, which the convnet reads as ${read}`,
      );
    });
    const labels = nearest.map((index) => data.labels[index]);
    this.mapText.textContent =
      `Your drawing lands at (${point[0].toFixed(1)}, ${point[1].toFixed(1)}); its ` +
      `${map.neighbours} nearest test digits in ${dimensions} principal components are ` +
      `labelled ${labels.join(", ")}.`;
    this.mapCanvas.setAttribute(
      "aria-label",
      `Map of the ${count.toLocaleString("en")} test digits. ${this.mapText.textContent}`,
    );
    return { point: point.slice(0, 2), place: point, neighbours: nearest };
  }

  buildMap(view, map, data) {
    const side = 320;
    const [dimensions] = map.arrays.components.shape;
    this.mapCanvas = picture(side, side, "Map of the test digits", "mnist-book-inside__scatter");
    let low = [Infinity, Infinity],
      high = [-Infinity, -Infinity];
    for (let i = 0; i < data.labels.length; i++) {
      for (const axis of [0, 1]) {
        low[axis] = Math.min(low[axis], data.points[dimensions * i + axis]);
        high[axis] = Math.max(high[axis], data.points[dimensions * i + axis]);
      }
    }
    const margin = 8;
    this.place = ([x, y]) => [
      margin + ((x - low[0]) / (high[0] - low[0])) * (side - 2 * margin),
      side - margin - ((y - low[1]) / (high[1] - low[1])) * (side - 2 * margin),
    ];
    this.mapSide = side;
    const legend = element("ul", { class: "mnist-book-inside__legend" });
    PALETTE.forEach((colour, digit) =>
      legend.append(
        element(
          "li",
          {},
          element("span", { class: "mnist-book-inside__swatch", style: `background:${colour}` }),
          ` ${digit}`,
        ),
      ),
    );
    legend.append(
      element("li", { text: "✕ the convnet's mistakes" }),
      element("li", { text: "◎ your drawing" }),
    );
    const neighbours = element("div", { class: "mnist-book-inside__neighbours" });
    this.neighbourNodes = [];
    for (let i = 0; i < map.neighbours; i++) {
      const canvas = picture(SIZE, SIZE, "A test digit");
      const caption = element("figcaption");
      neighbours.append(element("figure", {}, canvas, caption));
      this.neighbourNodes.push({ canvas, caption });
    }
    this.mapText = element("p", { class: "mnist-book-inside__summary" });
    const explained = map.explained.slice(0, 2).map((share) => percent(share));
    const kept = percent(map.explained.reduce((total, share) => total + share, 0));
    view.replaceChildren(
      element(
        "div",
        { class: "mnist-book-inside__mapbox" },
        this.mapCanvas,
        element(
          "div",
          {},
          legend,
          element("p", {
            class: "mnist-book-inside__summary",
            text:
              `Nearest in the first ${dimensions} principal components ` +
              `(${kept} of the variance; the map shows two):`,
          }),
          neighbours,
        ),
      ),
      this.mapText,
      element("p", {
        class: "mnist-book-inside__summary",
        text:
          `The axes are the two principal components of ${map.features}'s output on the ` +
          `test digits (${explained.join(" and ")} of its variance).`,
      }),
    );
    // The test digits, drawn once into a backdrop that each reading copies.
    this.backdrop = new OffscreenCanvas(side, side);
    const context = this.backdrop.getContext("2d");
    context.fillStyle = "#fafafa";
    context.fillRect(0, 0, side, side);
    for (let i = 0; i < data.labels.length; i++) {
      const [x, y] = this.place(data.points.subarray(dimensions * i, dimensions * i + 2));
      context.fillStyle = PALETTE[data.labels[i]];
      context.fillRect(x - 1, y - 1, 2, 2);
    }
    context.strokeStyle = "#000";
    context.lineWidth = 1;
    for (let i = 0; i < data.labels.length; i++) {
      if (data.labels[i] === data.predictions[i]) continue;
      const [x, y] = this.place(data.points.subarray(dimensions * i, dimensions * i + 2));
      context.beginPath();
      context.moveTo(x - 3, y - 3);
      context.lineTo(x + 3, y + 3);
      context.moveTo(x + 3, y - 3);
      context.lineTo(x - 3, y + 3);
      context.stroke();
    }
  }

  drawMap(data, point) {
    const context = this.mapCanvas.getContext("2d");
    context.drawImage(this.backdrop, 0, 0);
    const [x, y] = this.place(point).map((value) => Math.min(this.mapSide - 6, Math.max(6, value)));
    context.lineWidth = 3;
    context.strokeStyle = "#000";
    context.fillStyle = "#fff";
    context.beginPath();
    context.arc(x, y, 7, 0, 2 * Math.PI);
    context.fill();
    context.stroke();
    context.beginPath();
    context.arc(x, y, 2.5, 0, 2 * Math.PI);
    context.fillStyle = "#000";
    context.fill();
  }

  // One batched run: the drawing with each patch hidden (set to 0, no ink), all at once.
  async occlude(model, session, input, outputs) {
    if (this.input !== input || this.models[this.chosen] !== model) return;
    const entry = model.entry;
    const { patch, stride } = this.manifest.inside.occlusion;
    const places = []; // row by row: `steps` rows of `steps` places
    const steps = Math.floor((SIZE - patch) / stride) + 1;
    for (let top = 0; top + patch <= SIZE; top += stride) {
      for (let left = 0; left + patch <= SIZE; left += stride) places.push([top, left]);
    }
    const batch = new Float32Array(places.length * SIZE * SIZE);
    places.forEach(([top, left], k) => {
      const image = batch.subarray(k * SIZE * SIZE, (k + 1) * SIZE * SIZE);
      image.set(input);
      for (let y = top; y < top + patch; y++)
        image.fill(0, y * SIZE + left, y * SIZE + left + patch);
    });
    const { Tensor } = await this.ort;
    const feeds = {
      [this.manifest.input]: new Tensor("float32", batch, [places.length, ...entry.input_shape]),
    };
    const started = performance.now();
    const results = await session.run(feeds, [entry.prediction]);
    const ms = performance.now() - started;
    if (this.input !== input || this.models[this.chosen] !== model) return;
    const scores = results[entry.prediction].data;
    const original = outputs[entry.prediction];
    const digit = argmax(original);
    const drops = places.map((_, k) => original[digit] - scores[k * 10 + digit]);
    const worst = argmax(drops);
    const [top, left] = places[worst];
    const view = this.views.occlusion;
    if (view.dataset.model !== entry.name) {
      view.dataset.model = entry.name;
      this.occlusionShown = signedPicture("Occlusion map");
      this.occlusionScale = colourScale();
      this.occlusionText = element("p", { class: "mnist-book-inside__summary" });
      view.replaceChildren(
        element(
          "div",
          { class: "mnist-book-inside__occluded" },
          this.occlusionShown.box,
          this.occlusionScale.node,
        ),
        this.occlusionText,
      );
    }
    // A fixed scale, the whole range a score can drop or rise: the same drop is the same
    // colour for every drawing, however large the largest drop of this one.
    const colours = this.colours();
    const centres = { start: (patch - 1) / 2, step: stride };
    paintSigned(this.occlusionShown, input, drops, [steps, steps], centres, 1, colours);
    const softmax = entry.activation === "softmax";
    showScale(
      this.occlusionScale,
      colours,
      softmax ? ["−100", "0", "+100"] : ["−1", "0", "+1"],
      `How much hiding the patch centred on each square lowers the ` +
        (softmax
          ? `probability of ${digit}, in percentage points from −100 to +100`
          : `score of ${digit}, from −1 to +1`) +
        ", on the same scale for every drawing: blue lowers it, red raises it. " +
        "The grey line outlines your strokes.",
    );
    const after = original[digit] - drops[worst];
    const [before, hidden] = [original[digit], after].map((v) => scoreText(entry.activation, v));
    this.occlusionText.textContent =
      `${places.length} copies of the drawing, each with a ${patch}×${patch} patch hidden, ` +
      `in one run (${ms.toFixed(1)} ms); each square is drawn at the centre of its patch. ` +
      `Hiding rows ${top + 1}–${top + patch}, columns ${left + 1}–${left + patch} costs ` +
      `${digit} the most: ${before} → ${hidden}.`;
    this.occlusionShown.canvas.setAttribute(
      "aria-label",
      `Occlusion map for ${digit}. ${this.occlusionText.textContent}`,
    );
    const detail = { model: entry.name, digit, drops, places, ms };
    this.root.dispatchEvent(new CustomEvent("mnist-book-inside:occluded", { detail }));
  }
}

// Last, once the class above is defined: Material may call back at once, replaying the page.
onEveryPage(() => {
  const root = document.querySelector(".mnist-book-inside");
  const board = document.querySelector(".mnist-book-draw");
  if (root && board && !mounted.has(root)) {
    mounted.add(root);
    new Inside(root, board).start();
  }
});
