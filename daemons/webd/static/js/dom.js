// One DOM builder for the pages (common.js) and the well views (wells/common.js); no side
// effects on import, so a view module can use it without common.js's page wiring.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// uPlot's legend shows and hides a series on a mouse click only: make each series row a
// toggle button the keyboard reaches (Tab), with Enter or Space, and tell its state to
// screen readers (aria-pressed).  Mode 2 charts have no row for the x series.
export function keyboardLegend(plot) {
  const rows = [...plot.root.querySelectorAll(".u-legend .u-series")];
  const first = plot.series.length - rows.length;
  rows.forEach((row, i) => {
    const s = i + first;
    if (s < 1) return;  // the x (time) row toggles nothing
    const sync = () => row.setAttribute("aria-pressed", String(plot.series[s].show));
    row.tabIndex = 0;
    row.setAttribute("role", "button");
    sync();
    row.addEventListener("click", () => setTimeout(sync));
    row.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" && ev.key !== " ") return;
      ev.preventDefault();
      plot.setSeries(s, { show: !plot.series[s].show });
      sync();
    });
  });
}
