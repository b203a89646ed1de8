/**
 * Hand-written SVG charts for the docs (no charting dependency): horizontal bars in groups, each bar
 * with its value and a note, on one linear scale starting at zero.
 */
export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. `0.97× no auth`. */
  note?: string;
  color: string;
  /** Bars drawn lighter, e.g. the reference a group is compared with. */
  muted?: boolean;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  groups: BarGroup[];
  /** Formats a value for its label, e.g. `12,345 req/s`. */
  format: (value: number) => string;
  /** Legend entries, in order. */
  legend?: { label: string; color: string }[];
  width?: number;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Rounds up to a tidy end for the axis (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 times a power of ten). */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

export function barChart(chart: BarChart): string {
  const width = chart.width ?? 860;
  const labelWidth = 270;
  const valueSpace = 200;
  const barHeight = 18;
  const gap = 5;
  const groupGap = 16;
  const top = chart.subtitle ? 64 : 44;
  const plotLeft = labelWidth + 10;
  const plotWidth = width - plotLeft - valueSpace;
  const max = niceCeiling(Math.max(...chart.groups.flatMap((g) => g.bars.map((b) => b.value))));
  const x = (value: number) => plotLeft + (value / max) * plotWidth;

  const parts: string[] = [];
  let y = top;
  for (const group of chart.groups) {
    parts.push(`<text x="12" y="${y + 13}" class="group">${escape(group.label)}</text>`);
    y += 20;
    for (const bar of group.bars) {
      const w = Math.max(1, x(bar.value) - plotLeft);
      parts.push(
        `<text x="${labelWidth}" y="${y + 13}" class="label" text-anchor="end">${escape(bar.label)}</text>`,
        `<rect x="${plotLeft}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" rx="2" fill="${bar.color}"${bar.muted ? ' fill-opacity="0.45"' : ''}/>`,
        `<text x="${(plotLeft + w + 6).toFixed(1)}" y="${y + 13}" class="value">${escape(chart.format(bar.value))}${bar.note ? ` <tspan class="note">${escape(bar.note)}</tspan>` : ''}</text>`,
      );
      y += barHeight + gap;
    }
    y += groupGap;
  }
  // Axis: ticks at fifths of the scale.
  const axisY = y - groupGap + 4;
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const value = (max / 5) * i;
    const tx = x(value);
    ticks.push(
      `<line x1="${tx.toFixed(1)}" y1="${top - 4}" x2="${tx.toFixed(1)}" y2="${axisY}" class="grid"/>`,
      `<text x="${tx.toFixed(1)}" y="${axisY + 14}" class="tick" text-anchor="middle">${escape(chart.format(value).replace(/ .*/, ''))}</text>`,
    );
  }
  let legendY = axisY + 34;
  const legend: string[] = [];
  let lx = 12;
  for (const entry of chart.legend ?? []) {
    const textWidth = entry.label.length * 6.6 + 30;
    if (lx + textWidth > width - 12) {
      lx = 12;
      legendY += 20;
    }
    legend.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" rx="2" fill="${entry.color}"/>`, `<text x="${lx + 18}" y="${legendY}" class="legend">${escape(entry.label)}</text>`);
    lx += textWidth;
  }
  const height = (chart.legend?.length ? legendY : axisY + 20) + 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    '<style>',
    '  .title { font-size: 16px; font-weight: 600; fill: #1f2328; }',
    '  .subtitle { font-size: 12px; fill: #59636e; }',
    '  .group { font-size: 13px; font-weight: 600; fill: #1f2328; }',
    '  .label, .value, .legend { font-size: 12px; fill: #1f2328; }',
    '  .note, .tick { font-size: 11px; fill: #59636e; }',
    '  .grid { stroke: #d1d9e0; stroke-width: 1; }',
    '</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" class="title">${escape(chart.title)}</text>`,
    chart.subtitle ? `<text x="12" y="44" class="subtitle">${escape(chart.subtitle)}</text>` : '',
    ...ticks,
    ...parts,
    ...legend,
    '</svg>',
    '',
  ]
    .filter(Boolean)
    .join('\n');
}
