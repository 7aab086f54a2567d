// What the draw page's modules share (draw.js, the board; draw-inside.js, its look-inside
// views): starting on every page view, making elements, and fetching a file with a message
// that names it when it cannot be had.

/** Call `callback` on every page view, including Material's instant navigation (`document$`). */
export function onEveryPage(callback) {
  if (window.document$) {
    window.document$.subscribe(() => callback()); // Material: first view and instant navigation
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", callback);
  } else {
    callback();
  }
}

/** A new `tag` element with `attributes` (`text` sets its text) and `children`. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** The bytes at `url`; an error that names `what` and the URL if they cannot be fetched. */
export async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${what} could not be fetched from ${url} (${error.message}).`);
  }
  if (!response.ok) {
    throw new Error(`${what} is missing: ${url} answered HTTP ${response.status}.`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A value in percent: whole percent, one decimal below 10 % and from 99.5 % up. */
export function percent(value) {
  return `${(100 * value).toFixed(value >= 0.995 || value < 0.1 ? 1 : 0)}%`;
}

/** A score in words: a probability (softmax) in percent, else the score, 0 to 1. */
export function scoreText(activation, score) {
  return activation === "softmax" ? percent(score) : score.toFixed(2);
}
