// SVG bar charts as strings (no DOM, so Node writes them to files and pages insert them): one panel per direction, bars per series.

export interface ChartPanel {
  title: string;
  /** Bar groups along the axis (layers). */
  groups: string[];
  /** values[series][group]; NaN or missing draws no bar. */
  values: number[][];
}

export interface ChartSpec {
  title: string;
  /** One name per series (runtimes), in the legend and in each group's bar order. */
  series: string[];
  panels: ChartPanel[];
  /** Axis unit, "GFLOP/s". */
  unit: string;
}

const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];
const escape = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A 1-2-5 step that gives about four gridlines up to max. */
function niceStep(max: number): number {
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

/** Panels side by side, each with its own scale (db runs at a fraction of the others' rate). */
export function barChartSvg(spec: ChartSpec): string {
  const barWidth = 9, groupGap = 10, panelGap = 30, plotHeight = 220, top = 50, left = 46;
  const legendHeight = 18 * Math.ceil(spec.series.length / 2);
  const parts: string[] = [];
  let x = left;
  for (const panel of spec.panels) {
    const groupWidth = spec.series.length * barWidth + groupGap;
    const width = panel.groups.length * groupWidth;
    const finite = panel.values.flat().filter((v) => Number.isFinite(v));
    const step = niceStep(Math.max(...finite, 1e-9));
    const max = Math.ceil(Math.max(...finite, 1e-9) / step) * step;
    const y = (v: number) => top + plotHeight - (v / max) * plotHeight;
    parts.push(`<text x="${x + width / 2}" y="${top - 12}" text-anchor="middle" font-weight="bold">${escape(panel.title)}</text>`);
    for (let g = 0; g <= max + step / 2; g += step) {
      parts.push(`<line x1="${x - 4}" x2="${x + width}" y1="${y(g)}" y2="${y(g)}" stroke="#ddd"/>`);
      parts.push(`<text x="${x - 6}" y="${y(g) + 4}" text-anchor="end" font-size="10">${+g.toPrecision(3)}</text>`);
    }
    panel.groups.forEach((group, gi) => {
      const gx = x + gi * groupWidth + groupGap / 2;
      spec.series.forEach((name, si) => {
        const v = panel.values[si]?.[gi];
        if (v === undefined || !Number.isFinite(v)) return;
        parts.push(`<rect x="${gx + si * barWidth}" y="${y(v)}" width="${barWidth - 1}" height="${top + plotHeight - y(v)}" fill="${COLOURS[si % COLOURS.length]}"><title>${escape(`${name}, ${group}, ${panel.title}: ${v.toPrecision(3)} ${spec.unit}`)}</title></rect>`);
      });
      parts.push(`<text x="${gx + (spec.series.length * barWidth) / 2}" y="${top + plotHeight + 14}" text-anchor="middle" font-size="11">${escape(group)}</text>`);
    });
    parts.push(`<line x1="${x - 4}" x2="${x + width}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#333"/>`);
    x += width + panelGap + left / 2;
  }
  const width = x;
  spec.series.forEach((name, si) => {
    const lx = left + (si % 2) * 420, ly = top + plotHeight + 34 + 18 * Math.floor(si / 2);
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[si % COLOURS.length]}"/><text x="${lx + 18}" y="${ly}" font-size="12">${escape(name)}</text>`);
  });
  const height = top + plotHeight + 34 + legendHeight;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="12">` +
    `<rect width="100%" height="100%" fill="white"/><text x="${left}" y="20" font-size="14" font-weight="bold">${escape(spec.title)} (${escape(spec.unit)})</text>` +
    parts.join("") + "</svg>";
}
