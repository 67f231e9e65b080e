/** Small SVG charts: enough to see a trend or a ranking at a glance, no chart library. */

/** A line of daily counts. */
export function Sparkline({ values, width = 120, height = 24 }: { values: number[]; width?: number; height?: number }) {
  if (values.length === 0) return null;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const points = values.map((value, index) => `${(index * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`).join(' ');
  return (
    <svg width={width} height={height} role="img" aria-label={`趋势: ${values.join(', ')}`}>
      <polyline points={points} fill="none" stroke="#1f6feb" strokeWidth="1.5" />
    </svg>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** A second, lighter segment after the first (e.g. attestations after overrides). */
  extra?: number;
}

/** Horizontal bars, largest first as given. */
export function BarChart({ bars, title, width = 420 }: { bars: Bar[]; title: string; width?: number }) {
  const labelWidth = 130;
  const row = 22;
  const max = Math.max(1, ...bars.map((bar) => bar.value + (bar.extra ?? 0)));
  const scale = (width - labelWidth - 50) / max;
  return (
    <svg width={width} height={Math.max(row, bars.length * row) + 4} role="img" aria-label={title}>
      {bars.map((bar, index) => {
        const y = index * row + 2;
        const first = bar.value * scale;
        const second = (bar.extra ?? 0) * scale;
        return (
          <g key={`${bar.label}-${index}`}>
            <text x={labelWidth - 6} y={y + 14} textAnchor="end">
              {bar.label.length > 10 ? `${bar.label.slice(0, 10)}…` : bar.label}
            </text>
            <rect x={labelWidth} y={y + 3} width={first} height={row - 8} fill="#c53030" />
            {second > 0 && <rect x={labelWidth + first} y={y + 3} width={second} height={row - 8} fill="#f6ad55" />}
            <text x={labelWidth + first + second + 4} y={y + 14}>
              {bar.value + (bar.extra ?? 0)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
