// What the models see: a drawing turned into the 28x28 pixels in [0, 1] that MNIST is made of.
//
// MNIST's authors scaled each digit, keeping its proportions, to fit a 20x20 box, and moved
// it so that its centre of mass (the mean position of its ink, weighted by the ink) lies at
// the centre of the 28x28 image. `modelInput` frames a drawing the same way, or, with
// `frame: false`, only shrinks the whole drawing to 28x28. Pure functions, no page needed.

export const SIZE = 28; // MNIST's images are SIZE x SIZE pixels
export const BOX = 20; // the box MNIST fits each digit into
const CENTRE = SIZE / 2; // where MNIST puts the centre of mass (pixels counted from 0)

/** The ink of each pixel (0-255) of a canvas's ImageData: its alpha, as the board draws. */
export function inkOf({ data, width, height }) {
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[4 * i + 3];
  return { ink, width, height };
}

/** The smallest rectangle holding all of the image's ink, or null when there is none. */
export function inkBox({ ink, width, height }) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0) {
        if (y < top) top = y;
        bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  if (bottom < 0) return null;
  return { x: left, y: top, width: right - left + 1, height: bottom - top + 1 };
}

// For each of `count` target pixels covering source pixels [start, start + length): the
// source pixels under it and the share of the target pixel each one covers.
function spans(start, length, count) {
  const step = length / count;
  const end = start + length;
  const result = [];
  for (let i = 0; i < count; i++) {
    const from = start + i * step;
    const to = i === count - 1 ? end : start + (i + 1) * step; // no rounding past the end
    const taps = [];
    for (let s = Math.floor(from); s < Math.min(Math.ceil(to), end); s++) {
      const cover = Math.min(to, s + 1) - Math.max(from, s);
      if (cover > 0) taps.push([s, cover / step]);
    }
    result.push(taps);
  }
  return result;
}

/** The region `box` of the image shrunk to width x height, each pixel the mean ink under it. */
export function shrink(image, box, width, height) {
  const columns = spans(box.x, box.width, width);
  const rows = spans(box.y, box.height, height);
  const across = new Float32Array(box.height * width); // the box's rows, shrunk across
  for (let y = 0; y < box.height; y++) {
    const source = (box.y + y) * image.width;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [s, share] of columns[x]) sum += image.ink[source + s] * share;
      across[y * width + x] = sum;
    }
  }
  const ink = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (const [s, share] of rows[y]) {
      const source = (s - box.y) * width;
      for (let x = 0; x < width; x++) ink[y * width + x] += across[source + x] * share;
    }
  }
  return { ink, width, height };
}

/** The image's centre of mass: the mean row and column of its ink, weighted by the ink. */
export function centreOfMass({ ink, width, height }) {
  let total = 0, row = 0, col = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = ink[y * width + x];
      total += value;
      row += y * value;
      col += x * value;
    }
  }
  return { row: row / total, col: col / total };
}

/**
 * The models' input for an image of ink (0-255): SIZE x SIZE values in [0, 1], row by row,
 * or null when nothing is drawn. Framed like MNIST unless `frame` is false.
 */
export function modelInput(image, { frame = true } = {}) {
  const box = inkBox(image);
  if (box === null) return null;
  let digit, top = 0, left = 0;
  if (frame) {
    const scale = BOX / Math.max(box.width, box.height);
    const width = Math.max(1, Math.round(box.width * scale));
    const height = Math.max(1, Math.round(box.height * scale));
    digit = shrink(image, box, width, height);
    const centre = centreOfMass(digit);
    top = clamp(Math.round(CENTRE - centre.row), 0, SIZE - height);
    left = clamp(Math.round(CENTRE - centre.col), 0, SIZE - width);
  } else {
    digit = shrink(image, { x: 0, y: 0, width: image.width, height: image.height }, SIZE, SIZE);
  }
  const input = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < digit.height; y++) {
    for (let x = 0; x < digit.width; x++) {
      input[(top + y) * SIZE + left + x] = Math.min(1, digit.ink[y * digit.width + x] / 255);
    }
  }
  return input;
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}
