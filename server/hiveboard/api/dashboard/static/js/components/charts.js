// Charts with uPlot: a sparkline for cards and small trend charts for summaries. Colours come
// from the theme's CSS variables so both themes read well.
import { html, useEffect, useRef } from "../lib.js";
import uPlot from "uplot";

export function cssColour(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function useUplot(options, data) {
  const target = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new uPlot(options(), data, target.current);
    return () => chart.current?.destroy();
  }, []);
  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);
  return target;
}

// `points`: [[unix seconds...], [values...]].
export function Sparkline({ points, label, width = 160, height = 32 }) {
  const target = useUplot(
    () => ({
      width,
      height,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: (_, min, max) => [0, Math.max(1, max)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: cssColour("--accent", "#b7791f"), width: 1.5, fill: cssColour("--accent-soft", "#f6e7c8") }],
    }),
    points,
  );
  return html`<div class="sparkline" ref=${target} role="img" aria-label=${label}></div>`;
}

// A small titled chart of one series over time.
export function TrendChart({ title, points, format = (value) => String(value), width = 260, height = 90 }) {
  const target = useUplot(
    () => ({
      width,
      height,
      legend: { show: false },
      scales: { x: { time: true } },
      axes: [
        { stroke: cssColour("--muted", "#666"), grid: { show: false }, size: 24, font: "10px system-ui" },
        {
          stroke: cssColour("--muted", "#666"),
          grid: { stroke: cssColour("--grid", "#eee") },
          size: 44,
          font: "10px system-ui",
          values: (_, ticks) => ticks.map(format),
        },
      ],
      series: [{}, { stroke: cssColour("--accent", "#b7791f"), width: 1.5, spanGaps: false }],
    }),
    points,
  );
  return html`<figure class="trend"><figcaption>${title}</figcaption>
    <div ref=${target} role="img" aria-label=${title}></div></figure>`;
}
