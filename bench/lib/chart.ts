// Renders benchmark results as an SVG bar chart: one panel per direction, GFLOP/s per layer, one bar per implementation.

export interface ChartSeries {
  name: string;
  color: string;
  /** values[direction][layer] in GFLOP/s; undefined = not run / not supported. */
  values: Record<string, Record<string, number | undefined>>;
}

export interface ChartSpec {
  title: string;
  subtitle: string;
  directions: string[];
  layers: string[];
  series: ChartSeries[];
  /** Dashed reference lines (the ceiling), by label. */
  lines?: { label: string; value: number }[];
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A self-contained SVG document (no scripts, no external fonts). */
export function renderChart(spec: ChartSpec): string {
  const panelWidth = 70 + spec.layers.length * (spec.series.length * 9 + 14);
  const panelHeight = 230;
  const width = Math.max(panelWidth, 720);
  const legendHeight = 24 + Math.ceil(spec.series.length / 3) * 18;
  const height = 60 + spec.directions.length * (panelHeight + 30) + legendHeight;
  const all = spec.series.flatMap((s) => spec.directions.flatMap((d) => spec.layers.map((l) => s.values[d]?.[l] ?? 0)));
  const top = Math.max(...all, ...(spec.lines ?? []).map((l) => l.value), 1);
  const niceTop = Math.ceil(top / 10) * 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="22" font-size="15" font-weight="bold">${escape(spec.title)}</text>`);
  out.push(`<text x="10" y="40" fill="#555">${escape(spec.subtitle)}</text>`);
  spec.directions.forEach((direction, p) => {
    const y0 = 60 + p * (panelHeight + 30);
    const plotTop = y0 + 18, plotBottom = y0 + panelHeight - 20, left = 50;
    const scale = (v: number) => plotBottom - (v / niceTop) * (plotBottom - plotTop);
    out.push(`<text x="10" y="${y0 + 10}" font-weight="bold">${escape(direction)} (GFLOP/s, higher is better)</text>`);
    for (let t = 0; t <= niceTop; t += niceTop / 5) {
      out.push(`<line x1="${left}" x2="${width - 10}" y1="${scale(t)}" y2="${scale(t)}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${scale(t) + 4}" text-anchor="end" fill="#777">${t.toFixed(0)}</text>`);
    }
    for (const line of spec.lines ?? []) {
      out.push(`<line x1="${left}" x2="${width - 10}" y1="${scale(line.value)}" y2="${scale(line.value)}" stroke="#999" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${width - 12}" y="${scale(line.value) - 3}" text-anchor="end" fill="#777">${escape(line.label)}</text>`);
    }
    const groupWidth = (width - left - 20) / spec.layers.length;
    const barWidth = Math.min(14, (groupWidth - 8) / spec.series.length);
    spec.layers.forEach((layer, i) => {
      const gx = left + 6 + i * groupWidth;
      spec.series.forEach((series, s) => {
        const v = series.values[direction]?.[layer];
        const x = gx + s * barWidth;
        if (v === undefined) {
          out.push(`<text x="${x + barWidth / 2}" y="${plotBottom - 3}" text-anchor="middle" fill="#bbb" font-size="8">–</text>`);
        } else {
          out.push(`<rect x="${x.toFixed(1)}" y="${scale(v).toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${(plotBottom - scale(v)).toFixed(1)}" fill="${series.color}"><title>${escape(`${series.name} ${layer} ${direction}: ${v.toFixed(1)} GFLOP/s`)}</title></rect>`);
        }
      });
      out.push(`<text x="${gx + (spec.series.length * barWidth) / 2}" y="${plotBottom + 14}" text-anchor="middle">${escape(layer)}</text>`);
    });
  });
  const ly = height - legendHeight + 10;
  spec.series.forEach((series, s) => {
    const x = 10 + (s % 3) * ((width - 20) / 3), y = ly + Math.floor(s / 3) * 18;
    out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${series.color}"/>`);
    out.push(`<text x="${x + 18}" y="${y + 10}">${escape(series.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
