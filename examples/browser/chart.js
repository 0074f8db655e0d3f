// A small SVG line chart: series of (x, y) points, axes with a few ticks, redrawn whole on every update.

const SVG = "http://www.w3.org/2000/svg";

/** Draws into `svg` (its viewBox is width × height); series: [{ label, color, points: [[x, y], …] }]. */
export function drawChart(svg, { series, xMax, yMin = 0, yMax, xLabel, yFormat = (v) => v.toFixed(2) }) {
  const width = 480, height = 240, left = 48, right = 12, top = 12, bottom = 32;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const x = (v) => left + (v / xMax) * (width - left - right);
  const y = (v) => top + (1 - (v - yMin) / (yMax - yMin)) * (height - top - bottom);
  const add = (name, attributes, text) => {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    svg.append(element);
    return element;
  };
  add("rect", { x: left, y: top, width: width - left - right, height: height - top - bottom, fill: "none", stroke: "#ccc" });
  for (let i = 0; i <= 4; i++) {
    const value = yMin + ((yMax - yMin) * i) / 4;
    add("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), stroke: "#eee" });
    add("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", "font-size": 11 }, yFormat(value));
  }
  add("text", { x: (left + width - right) / 2, y: height - 8, "text-anchor": "middle", "font-size": 11 }, xLabel);
  add("text", { x: left, y: height - 8, "font-size": 11 }, "0");
  add("text", { x: width - right, y: height - 8, "text-anchor": "end", "font-size": 11 }, String(xMax));
  series.forEach(({ label, color, points }, i) => {
    if (points.length > 0) {
      const path = points.map(([px, py], k) => `${k ? "L" : "M"}${x(px).toFixed(1)},${y(Math.min(yMax, Math.max(yMin, py))).toFixed(1)}`).join("");
      add("path", { d: path, fill: "none", stroke: color, "stroke-width": 1.5 });
    }
    add("text", { x: width - right - 4, y: top + 14 + 14 * i, "text-anchor": "end", "font-size": 11, fill: color }, label);
  });
}
