// The pictures of the draw page's look-inside views (draw-inside.js), as pure functions of
// numbers: a layer's maps side by side, a map of signed values over the drawing (evidence,
// occlusion) with its colour bar, the nearest points of the map. No state, no page: each
// paints what it is given.

import { SIZE } from "./draw-input.js";

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

// One theme of the manifest's `inside.colours` (the chapter's, from inspection_plots), ready
// to paint: `signed`, the colour map from low to high, as [r, g, b]; `outline` as CSS text.
export function palette({ signed, outline, outline_level: level }) {
  const rgb = signed.map((hex) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)));
  return { signed: rgb, outline, level };
}

// The colour of `value` on the fixed scale from -limit to limit, looked up as matplotlib does.
export function signedColour(colours, value, limit) {
  const count = colours.signed.length;
  const share = limit > 0 ? (value / limit + 1) / 2 : 0.5;
  const at = Math.floor(Math.min(1, Math.max(0, share)) * count);
  return colours.signed[Math.min(count - 1, at)];
}

// A grid of `rows` x `columns` signed values as squares over the SIZE x SIZE drawing, on the
// scale from -limit to limit: the cell centred on input pixel (start + r * step,
// start + c * step) colours the step x step pixels nearest that centre; pixels that no cell
// covers take the colour of zero. One canvas pixel per input pixel: CSS enlarges it.
export function paintCells(canvas, grid, [rows, columns], { start, step }, limit, colours) {
  const cellOf = (pixel, cells) => {
    const cell = Math.round((pixel - start) / step);
    const offset = pixel - (start + cell * step);
    return cell >= 0 && cell < cells && offset >= -step / 2 && offset < step / 2 ? cell : -1;
  };
  const context = canvas.getContext("2d");
  const image = context.createImageData(SIZE, SIZE);
  for (let y = 0; y < SIZE; y++) {
    const row = cellOf(y, rows);
    for (let x = 0; x < SIZE; x++) {
      const column = cellOf(x, columns);
      const value = row < 0 || column < 0 ? 0 : grid[row * columns + column];
      const at = 4 * (y * SIZE + x);
      image.data.set(signedColour(colours, value, limit), at);
      image.data[at + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
}

// The outline of the drawing's strokes, the sides between pixels whose ink reaches `level`
// and the others, as an SVG path in input pixels (0 to SIZE), straight runs joined.
export function outlinePath(input, level) {
  const inked = (y, x) => y >= 0 && y < SIZE && x >= 0 && x < SIZE && input[y * SIZE + x] >= level;
  const runs = [];
  for (let line = 0; line <= SIZE; line++) {
    let across = -1; // where the current run along the line between rows line-1 and line began
    let down = -1; // the same between columns line-1 and line
    for (let at = 0; at <= SIZE; at++) {
      const sideAcross = at < SIZE && inked(line - 1, at) !== inked(line, at);
      if (sideAcross && across < 0) across = at;
      if (!sideAcross && across >= 0) {
        runs.push(`M${across} ${line}H${at}`);
        across = -1;
      }
      const sideDown = at < SIZE && inked(at, line - 1) !== inked(at, line);
      if (sideDown && down < 0) down = at;
      if (!sideDown && down >= 0) {
        runs.push(`M${line} ${down}V${at}`);
        down = -1;
      }
    }
  }
  return runs.join("");
}

// A colour bar: `canvas` becomes one pixel high, one pixel per colour, from low to high.
export function paintScale(canvas, colours) {
  const count = colours.signed.length;
  canvas.width = count;
  canvas.height = 1;
  const context = canvas.getContext("2d");
  const image = context.createImageData(count, 1);
  colours.signed.forEach((colour, i) => {
    image.data.set(colour, 4 * i);
    image.data[4 * i + 3] = 255;
  });
  context.putImageData(image, 0, 0);
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
