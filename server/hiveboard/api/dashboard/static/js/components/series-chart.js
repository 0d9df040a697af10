// A chart of several series over time (uPlot), each named in its legend so that no series is told
// apart by colour alone.
import { html } from "../lib.js";
import { cssColour, useUplot } from "./charts.js";

const PALETTE = ["--llm", "--tools", "--info", "--accent", "--danger", "--ok", "--warning", "--other"];

// `times`: unix seconds; `series`: [{label, values}], values null where there is nothing known.
export function SeriesChart({ title, times, series, format = String, width = 900, height = 220 }) {
  const data = [times, ...series.map((one) => one.values)];
  const target = useUplot(
    () => ({
      width,
      height,
      scales: { x: { time: true } },
      axes: [
        { stroke: cssColour("--muted", "#666"), grid: { stroke: cssColour("--grid", "#eee") }, font: "11px system-ui" },
        {
          stroke: cssColour("--muted", "#666"),
          grid: { stroke: cssColour("--grid", "#eee") },
          size: 64,
          font: "11px system-ui",
          values: (_, ticks) => ticks.map(format),
        },
      ],
      series: [
        {},
        ...series.map((one, index) => ({
          label: one.label,
          stroke: cssColour(PALETTE[index % PALETTE.length], "#888"),
          width: 2,
          value: (_, value) => (value === null || value === undefined ? "–" : format(value)),
        })),
      ],
    }),
    data,
  );
  return html`<figure class="series-chart"><figcaption>${title}</figcaption>
    <div ref=${target} role="img" aria-label=${`${title}: ${series.map((one) => one.label).join(", ")}`}></div></figure>`;
}
