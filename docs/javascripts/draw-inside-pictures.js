// The pictures of the draw page's look-inside views (draw-inside.js), as pure functions of
// numbers: a layer's maps side by side, the evidence or occlusion over the drawing, the
// nearest points of the map. No state, no page: each paints the canvas it is given.

import { SIZE } from "./draw-input.js";

const FOR = [33, 102, 172]; // blue: counted for the digit
const AGAINST = [230, 97, 1]; // orange: counted against it

export function sum(values) {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// The drawing in grey with `values` (SIZE x SIZE, signed) over it: blue for, orange against.
export function paintOverlay(canvas, input, values, largest) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(SIZE, SIZE);
  const pixels = image.data;
  for (let i = 0; i < SIZE * SIZE; i++) {
    const ink = 40 + 90 * input[i];
    const share = largest > 0 ? Math.min(1, Math.abs(values[i]) / largest) : 0;
    const colour = values[i] >= 0 ? FOR : AGAINST;
    for (let c = 0; c < 3; c++) pixels[4 * i + c] = ink * (1 - share) + colour[c] * share;
    pixels[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

// A grid of `rows` x `columns` values (cells centred at start + i * step input pixels),
// spread over the SIZE x SIZE input by bilinear interpolation between the cells' centres.
export function spread(grid, rows, columns, start, step) {
  const values = new Float32Array(SIZE * SIZE);
  const place = (pixel, cells) => {
    const at = Math.min(cells - 1, Math.max(0, (pixel - start) / step));
    const low = Math.min(cells - 1, Math.floor(at));
    return [low, Math.min(cells - 1, low + 1), at - low];
  };
  for (let y = 0; y < SIZE; y++) {
    const [r0, r1, fr] = place(y, rows);
    for (let x = 0; x < SIZE; x++) {
      const [c0, c1, fc] = place(x, columns);
      const top = grid[r0 * columns + c0] * (1 - fc) + grid[r0 * columns + c1] * fc;
      const bottom = grid[r1 * columns + c0] * (1 - fc) + grid[r1 * columns + c1] * fc;
      values[y * SIZE + x] = top * (1 - fr) + bottom * fr;
    }
  }
  return values;
}

// The indices of the `k` points nearest `point`, nearest first; `points` holds one point of
// point.length coordinates after another.
export function nearestPoints(points, point, k) {
  const dimensions = point.length;
  const best = []; // [distance, index], sorted
  for (let i = 0; i < points.length / dimensions; i++) {
    let distance = 0;
    for (let d = 0; d < dimensions; d++) distance += (points[i * dimensions + d] - point[d]) ** 2;
    if (best.length === k && distance >= best[k - 1][0]) continue;
    let at = best.length;
    while (at > 0 && best[at - 1][0] > distance) at--;
    best.splice(at, 0, [distance, i]);
    if (best.length > k) best.pop();
  }
  return best.map(([, index]) => index);
}

// A layer's maps side by side in one canvas, each scaled by the layer's largest value.
export function paintMaps(canvas, values, [rows, columns, channels]) {
  const across = Math.ceil(Math.sqrt(channels));
  const context = canvas.getContext("2d");
  const image = context.createImageData(canvas.width, canvas.height);
  let largest = 0;
  for (const value of values) if (value > largest) largest = value;
  image.data.fill(255);
  for (let channel = 0; channel < channels; channel++) {
    const left = (channel % across) * (columns + 1);
    const top = Math.floor(channel / across) * (rows + 1);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const value = values[(y * columns + x) * channels + channel];
        const grey = 255 * (1 - (largest > 0 ? Math.max(0, value) / largest : 0));
        const at = 4 * ((top + y) * canvas.width + left + x);
        image.data[at] = image.data[at + 1] = image.data[at + 2] = grey;
      }
    }
  }
  context.putImageData(image, 0, 0);
}

export function mapsCanvasSize([rows, columns, channels]) {
  const across = Math.ceil(Math.sqrt(channels));
  const down = Math.ceil(channels / across);
  return [across * (columns + 1) - 1, down * (rows + 1) - 1];
}
