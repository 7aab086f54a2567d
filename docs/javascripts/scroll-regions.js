// Tables and code wider than their column. A Markdown table (the home page's results, the
// build's tables, the API reference) is laid out a row at a time instead, each value labelled
// with its column's header (docs/stylesheets/extra.css: table[data-mnist-book-rows]), so a
// phone reader reads it without scrolling sideways. A notebook's table (pandas data) keeps its
// grid and scrolls sideways inside its own box (Material's .md-typeset__scrollwrap), as a code
// block does: each such box is made focusable, so keyboard users can scroll it too (WCAG
// 2.1.1). Runs on every page view, instant navigation included, and again on resizing.

const ROWS = "data-mnist-book-rows";

function overflows(box) {
  return box.scrollWidth > box.clientWidth;
}

// Each cell's column header as its label, and the table's roles, which CSS blocks lose.
function labelRows(table) {
  const header = table.tHead && table.tHead.rows[0];
  if (!header) return false;
  const labels = [...header.cells].map((cell) => cell.textContent.trim());
  table.setAttribute("role", "table");
  for (const row of table.rows) {
    row.setAttribute("role", "row");
    [...row.cells].forEach((cell, column) => {
      const heading = cell.tagName === "TH";
      cell.setAttribute("role", heading ? "columnheader" : "cell");
      if (!heading) cell.setAttribute("data-label", labels[column] || "");
    });
  }
  return true;
}

function layOutTable(box) {
  const table = box.querySelector("table");
  if (table && !table.closest(".jupyter-wrapper")) {
    table.removeAttribute(ROWS);
    if (overflows(box) && labelRows(table)) table.setAttribute(ROWS, "");
  }
  if (overflows(box)) {
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    box.setAttribute("aria-label", "Wide table: scroll sideways with the arrow keys");
  } else if (box.getAttribute("role") === "region") {
    box.removeAttribute("tabindex");
    box.removeAttribute("role");
    box.removeAttribute("aria-label");
  }
}

function focusableIfScrolling(code) {
  if (overflows(code)) code.tabIndex = 0;
  else if (code.getAttribute("tabindex") === "0") code.removeAttribute("tabindex");
}

function layOutTables() {
  for (const box of document.querySelectorAll(".md-typeset__scrollwrap")) layOutTable(box);
  for (const code of document.querySelectorAll(".md-typeset pre > code")) {
    focusableIfScrolling(code);
  }
}

let pending = 0;
function layOutTablesSoon() {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(layOutTables);
}

document$.subscribe(layOutTablesSoon);
window.addEventListener("resize", layOutTablesSoon);
