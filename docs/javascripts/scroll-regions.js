// A table wider than the page scrolls sideways inside its own box (Material's
// .md-typeset__scrollwrap). Make each such box a focusable, named region, so keyboard users
// can scroll it too (WCAG 2.1.1). Runs on every page view, instant navigation included.
function markScrollRegions() {
  for (const box of document.querySelectorAll(".md-typeset__scrollwrap")) {
    if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "Wide table: scroll sideways with the arrow keys");
    }
  }
}

document$.subscribe(() => requestAnimationFrame(markScrollRegions));
window.addEventListener("resize", markScrollRegions);
