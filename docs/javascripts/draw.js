// The "draw a digit" page: a board on which the reader writes a digit, read live by every
// model the site trained, in the browser, with onnxruntime-web.
//
// The page holds a `.mnist-book-draw` element: a line for readers without JavaScript and a
// link to the build's manifest of models (models.json), which this module replaces with the
// board. It starts on every page view, including Material's instant navigation (through its
// `document$`), and loads the runtime and the models only when the reader reaches for the
// board, so the page itself stays light.
//
// The board's `data-state` tells how far it is: "starting" (fetching the manifest), "idle"
// (models listed), "loading" (runtime and models), "ready", or "error" (with a visible message).
// For scripts and tests, the board tells what it read: after each reading it dispatches a
// `mnist-book-draw:read` event on the `.mnist-book-draw` element, whose detail holds the 28x28
// input (or null) and each model's scores; drawing into the canvas from a script and then
// dispatching `mnist-book-draw:changed` on the canvas has it read again.

import { element, fetchBytes, onEveryPage, percent, scoreText } from "./draw-common.js";
import { SIZE, inkOf, modelInput } from "./draw-input.js";

const BOARD = 280; // the board's own pixels; CSS scales it to the screen
const PEN = 22; // the pen's width in board pixels: MNIST's strokes, for a digit filling the board
const CLEAR_KEYS = new Set(["Delete", "Backspace", "Escape"]);
const mounted = new WeakSet();
const runtimes = new Map(); // manifest URL -> the promise of its loaded runtime and models

// The runtime and every model of the manifest, loaded once per page load of the site. Resolves
// to {ort, models: [{entry, session} | {entry, error}]}; rejects if the runtime cannot start.
// The model files download while the runtime does, and the browser compiles the WebAssembly
// file as it arrives.
function loadRuntime(manifestURL, manifest) {
  if (!runtimes.has(manifestURL)) {
    const url = (file) => new URL(file, manifestURL).href;
    const what = `The ONNX runtime (${manifest.runtime.name} ${manifest.runtime.version})`;
    const loading = (async () => {
      const files = manifest.models.map((entry) =>
        fetchBytes(url(entry.file), `The model file of ${entry.label}`),
      );
      files.forEach((file) => file.catch(() => {})); // each failure is reported with its model
      const moduleURL = url(manifest.runtime.module.file);
      const ort = await import(moduleURL).catch((error) => {
        throw new Error(`${what} could not be loaded from ${moduleURL} (${error.message}).`);
      });
      ort.env.wasm.numThreads = 1; // no cross-origin isolation needed: plain static hosting
      ort.env.wasm.wasmPaths = { wasm: url(manifest.runtime.wasm.file) };
      const models = await Promise.all(
        manifest.models.map(async (entry, index) => {
          let bytes;
          try {
            bytes = await files[index];
          } catch (error) {
            return { entry, error };
          }
          try {
            return { entry, session: await ort.InferenceSession.create(bytes) };
          } catch (error) {
            return { entry, error, unreadable: true };
          }
        }),
      );
      // onnxruntime-web's words when its WebAssembly file is missing or cannot be compiled.
      const backend = models.find(({ error }) => /no available backend/.test(error?.message));
      if (backend) {
        const wasm = url(manifest.runtime.wasm.file);
        const reason = backend.error.message;
        throw new Error(`${what} could not start its WebAssembly file ${wasm}: ${reason}`);
      }
      for (const model of models.filter(({ unreadable }) => unreadable)) {
        const file = url(model.entry.file);
        model.error = new Error(`The model file ${file} is damaged: ${model.error.message}`);
      }
      return { ort, models };
    })();
    runtimes.set(manifestURL, loading);
    loading.catch(() => runtimes.delete(manifestURL)); // a later visit may try again
  }
  return runtimes.get(manifestURL);
}

class Board {
  constructor(root) {
    this.root = root;
    const link = root.querySelector("a[href$='.json']");
    this.manifestURL = link ? link.href : null;
    this.frame = true;
    this.pending = false;
    this.busy = false;
    this.announce = false;
    this.cards = new Map();
  }

  async start() {
    this.build();
    this.setState("starting");
    try {
      if (!this.manifestURL) throw new Error("The page has no link to its models' manifest.");
      const answer = await fetch(this.manifestURL);
      if (!answer.ok) {
        throw new Error(`The models' manifest ${this.manifestURL} answered HTTP ${answer.status}.`);
      }
      this.manifest = await answer.json();
    } catch (error) {
      this.fail(`The models could not be listed. ${error.message}`);
      return;
    }
    for (const entry of this.manifest.models) this.addCard(entry);
    this.setState("idle");
    const reach = () => this.load();
    for (const event of ["pointerenter", "pointerdown", "focus"]) {
      this.canvas.addEventListener(event, reach, { once: true });
    }
    if (document.activeElement === this.canvas || this.canvas.matches(":hover")) this.load();
  }

  build() {
    this.canvas = element("canvas", {
      class: "mnist-book-draw__canvas",
      width: BOARD,
      height: BOARD,
      role: "img",
      tabindex: "0",
      "aria-label": "Drawing board: write one digit here with a mouse, a finger or a pen",
      "aria-describedby": "mnist-book-draw-keys",
    });
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.seen = element("canvas", {
      class: "mnist-book-draw__seen",
      width: SIZE,
      height: SIZE,
      role: "img",
      "aria-label": "What the models see: the drawing as 28 by 28 pixels",
    });
    const clear = element("button", { type: "button", class: "md-button", text: "Clear board" });
    clear.addEventListener("click", () => this.clear());
    const frame = element("input", { type: "checkbox", checked: "", id: "mnist-book-draw-frame" });
    frame.addEventListener("change", () => {
      this.frame = frame.checked;
      this.request(true);
    });
    this.status = element("p", { class: "mnist-book-draw__status", role: "status" });
    this.error = element("p", { class: "mnist-book-draw__error", role: "alert", hidden: "" });
    this.models = element("div", { class: "mnist-book-draw__models" });
    this.root.replaceChildren(
      element(
        "div",
        { class: "mnist-book-draw__board" },
        this.canvas,
        element(
          "div",
          { class: "mnist-book-draw__below" },
          element(
            "figure",
            { class: "mnist-book-draw__preview" },
            this.seen,
            element("figcaption", { text: "What the models see: 28×28 pixels" }),
          ),
          element(
            "div",
            { class: "mnist-book-draw__controls" },
            clear,
            element(
              "label",
              { for: "mnist-book-draw-frame" },
              frame,
              " Frame like MNIST: fit into 20×20, centre the centre of mass",
            ),
            element("p", {
              id: "mnist-book-draw-keys",
              class: "mnist-book-draw__hint",
              text: "Delete, Backspace or Escape clears the board.",
            }),
          ),
        ),
      ),
      element("div", { class: "mnist-book-draw__results" }, this.error, this.models, this.status),
    );
    this.show(null); // a black square, like an empty MNIST image
    this.listen();
  }

  listen() {
    const canvas = this.canvas;
    let pointer = null;
    let last = null;
    const at = (event) => {
      const box = canvas.getBoundingClientRect();
      return [
        ((event.clientX - box.left) * BOARD) / box.width,
        ((event.clientY - box.top) * BOARD) / box.height,
      ];
    };
    canvas.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      event.preventDefault();
      canvas.focus({ preventScroll: true });
      canvas.setPointerCapture(event.pointerId);
      pointer = event.pointerId;
      last = at(event);
      this.stroke([last, last]);
      this.request();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (event.pointerId !== pointer) return;
      const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      const points = [last, ...(moves.length ? moves : [event]).map(at)];
      last = points[points.length - 1];
      this.stroke(points);
      this.request();
    });
    const end = (event) => {
      if (event.pointerId !== pointer) return;
      pointer = null;
      this.request(true);
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("keydown", (event) => {
      if (CLEAR_KEYS.has(event.key)) {
        event.preventDefault();
        this.clear();
      }
    });
    canvas.addEventListener("mnist-book-draw:changed", () => this.request(true));
  }

  stroke(points) {
    const context = this.context;
    context.strokeStyle = "#fff";
    context.lineWidth = PEN;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(...points[0]);
    for (const point of points.slice(1)) context.lineTo(...point);
    context.stroke();
  }

  clear() {
    this.context.clearRect(0, 0, BOARD, BOARD);
    this.request();
    this.say("Board cleared.");
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  fail(message) {
    this.setState("error");
    this.error.textContent = message;
    this.error.hidden = false;
  }

  say(message) {
    this.status.textContent = message;
  }

  load() {
    if (!this.manifest || this.loading) return;
    this.setState("loading");
    this.say("Loading the models…");
    this.loading = loadRuntime(this.manifestURL, this.manifest).then(
      (runtime) => {
        this.runtime = runtime;
        for (const { entry, error } of runtime.models) {
          if (error) this.cards.get(entry.file).fail(error.message);
        }
        const ready = runtime.models.filter((model) => model.session).length;
        this.setState(ready ? "ready" : "error");
        this.say(`${ready} of ${runtime.models.length} models loaded. Draw a digit.`);
        if (!ready) this.fail("No model could be loaded: see each model's message.");
        this.request(true);
      },
      (error) => {
        this.loading = null;
        this.fail(
          `${error.message} Reload the page to try again; if this persists, the site's copy ` +
            "of the file is damaged.",
        );
        this.say("");
      },
    );
  }

  addCard(entry) {
    this.cards.set(entry.file, new Card(entry, this.models));
  }

  // Read the board again as soon as possible; with `announce`, say the result (stroke ends).
  request(announce = false) {
    this.pending = true;
    this.announce ||= announce;
    if (!this.busy) this.read();
  }

  async read() {
    this.busy = true;
    try {
      while (this.pending) {
        await new Promise(requestAnimationFrame);
        this.pending = false;
        const announce = this.announce;
        this.announce = false;
        const image = inkOf(this.context.getImageData(0, 0, BOARD, BOARD));
        const input = modelInput(image, { frame: this.frame });
        this.show(input);
        if (!this.runtime) continue;
        const readings = [];
        for (const { entry, session } of this.runtime.models) {
          if (!session) continue;
          const reading = input ? await this.run(entry, session, input) : null;
          this.cards.get(entry.file).show(reading);
          readings.push({ entry, reading });
        }
        if (announce && input) {
          const said = readings.map(
            ({ entry, reading }) =>
              `${entry.label} reads ${reading.digit} (${scoreText(entry.output, reading.score)})`,
          );
          this.say(`${said.join(". ")}.`);
        }
        const models = readings.map(({ entry, reading }) => ({
          name: entry.name,
          label: entry.label,
          ...reading,
        }));
        const detail = { input: input && Array.from(input), frame: this.frame, models };
        this.root.dispatchEvent(new CustomEvent("mnist-book-draw:read", { detail }));
      }
    } finally {
      this.busy = false;
    }
  }

  async run(entry, session, input) {
    const { Tensor } = this.runtime.ort;
    const tensor = new Tensor("float32", input, [1, ...entry.input_shape]);
    const started = performance.now();
    const outputs = await session.run({ [session.inputNames[0]]: tensor });
    const ms = performance.now() - started;
    const scores = Array.from(outputs[session.outputNames[0]].data);
    const digit = scores.indexOf(Math.max(...scores));
    return { scores, digit, score: scores[digit], ms };
  }

  show(input) {
    const context = this.seen.getContext("2d");
    const pixels = context.createImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const value = input ? Math.round(255 * input[i]) : 0;
      pixels.data.set([value, value, value, 255], 4 * i);
    }
    context.putImageData(pixels, 0, 0);
  }
}

class Card {
  constructor(entry, parent) {
    this.entry = entry;
    const accuracy = element("span", {
      class: "mnist-book-draw__accuracy",
      text: `${percent(entry.test_accuracy)} of the test set`,
    });
    this.digit = element("span", { class: "mnist-book-draw__digit", text: "–" });
    this.score = element("span", { class: "mnist-book-draw__score", text: "" });
    this.timing = element("span", { class: "mnist-book-draw__ms", text: "" });
    this.bars = [];
    const chart = element("ol", { class: "mnist-book-draw__bars", "aria-hidden": "true" });
    for (let digit = 0; digit < 10; digit++) {
      const bar = element("span", { class: "mnist-book-draw__bar" });
      chart.append(element("li", {}, bar, element("span", { text: String(digit) })));
      this.bars.push(bar);
    }
    const kind =
      entry.output === "softmax"
        ? "softmax: probabilities that sum to 1"
        : `${entry.output}: ten separate scores`;
    this.message = element("p", { class: "mnist-book-draw__error", role: "alert", hidden: "" });
    this.node = element(
      "section",
      { class: "mnist-book-draw__model", "aria-label": `Model ${entry.label}` },
      element(
        "p",
        { class: "mnist-book-draw__name" },
        element("code", { text: entry.label }),
        accuracy,
      ),
      element(
        "p",
        { class: "mnist-book-draw__guess" },
        element("span", { class: "mnist-book-draw__reads", text: "reads " }),
        this.digit,
        this.score,
        this.timing,
      ),
      chart,
      element("p", { class: "mnist-book-draw__kind", text: kind }),
      this.message,
    );
    parent.append(this.node);
  }

  show(reading) {
    this.node.dataset.digit = reading ? reading.digit : "";
    this.digit.textContent = reading ? String(reading.digit) : "–";
    this.score.textContent = reading ? scoreText(this.entry.output, reading.score) : "";
    // Browsers time to 0.1 ms at best, without cross-origin isolation.
    const ms = reading && (reading.ms < 0.1 ? "< 0.1" : reading.ms.toFixed(1));
    this.timing.textContent = reading ? `${ms} ms` : "";
    this.bars.forEach((bar, digit) => {
      bar.style.setProperty("--score", reading ? reading.scores[digit] : 0);
      const top = Boolean(reading) && digit === reading.digit;
      bar.classList.toggle("mnist-book-draw__bar--top", top);
    });
  }

  fail(message) {
    this.node.classList.add("mnist-book-draw__model--failed");
    this.message.textContent = message;
    this.message.hidden = false;
  }
}

// Last, once every class above is defined: Material may call back at once, replaying the page.
onEveryPage(() => {
  const root = document.querySelector(".mnist-book-draw");
  if (root && !mounted.has(root)) {
    mounted.add(root);
    new Board(root).start();
  }
});
