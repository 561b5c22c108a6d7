/** One line of a chart: points `[x, y]`, gaps where `y` is undefined. */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number | undefined])[];
}

/** A line chart to draw as inline SVG. */
export interface LineChart {
  readonly id: string;
  readonly title: string;
  readonly series: readonly ChartSeries[];
  /** Fixed y range; default: the data's range. */
  readonly yRange?: readonly [number, number];
  readonly yFormat?: (value: number) => string;
  readonly xLabel?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#e377c2'];
const WIDTH = 560;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 16, bottom: 36, left: 56 };

/** Escapes text for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function niceTicks(minimum: number, maximum: number, count: number): number[] {
  if (minimum === maximum) return [minimum];
  const raw = (maximum - minimum) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let tick = Math.ceil(minimum / step) * step; tick <= maximum + step / 1e6; tick += step)
    ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

/**
 * Draws a line chart as a self-contained SVG (no script, no external resource): axes with ticks, one path
 * per series (`class="series"`, with the number of points in `data-points`), and a legend.
 */
export function renderLineChart(chart: LineChart): string {
  const values = chart.series.flatMap((series) =>
    series.points.map(([, y]) => y).filter((y): y is number => y !== undefined && Number.isFinite(y)),
  );
  const xs = chart.series.flatMap((series) => series.points.map(([x]) => x));
  if (values.length === 0 || xs.length === 0)
    return `<figure class="chart" id="${escapeHtml(chart.id)}"><figcaption>${escapeHtml(chart.title)}</figcaption><p class="empty">No data yet.</p></figure>`;
  // Counts, rates and durations read best from zero; a range that goes negative (rewards) keeps its own floor.
  let [yMin, yMax] = chart.yRange ?? [Math.min(0, ...values), Math.max(...values)];
  if (chart.yRange === undefined && yMax <= 0 && yMin < 0) yMax = 0;
  if (yMin === yMax) {
    yMin -= 1;
    yMax += 1;
  }
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value: number) => MARGIN.left + ((value - xMin) / (xMax - xMin)) * plotWidth;
  const y = (value: number) => MARGIN.top + (1 - (value - yMin) / (yMax - yMin)) * plotHeight;
  const format = chart.yFormat ?? ((value: number) => String(Number(value.toPrecision(3))));
  const parts: string[] = [];
  for (const tick of niceTicks(yMin, yMax, 4)) {
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(format(tick))}</text>`,
    );
  }
  for (const tick of niceTicks(xMin, xMax, 6).filter((value) => Number.isInteger(value)))
    parts.push(
      `<text class="tick" x="${x(tick).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${tick}</text>`,
    );
  parts.push(
    `<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}"/>`,
    `<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}"/>`,
    `<text class="label" x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 4}" text-anchor="middle">${escapeHtml(chart.xLabel ?? 'step')}</text>`,
  );
  const legend: string[] = [];
  chart.series.forEach((series, index) => {
    const color = PALETTE[index % PALETTE.length] as string;
    let path = '';
    let pen = 'M';
    let count = 0;
    for (const [px, py] of series.points) {
      if (py === undefined || !Number.isFinite(py)) {
        pen = 'M';
        continue;
      }
      path += `${pen}${x(px).toFixed(1)},${y(py).toFixed(1)} `;
      pen = 'L';
      count += 1;
    }
    if (count === 0) return;
    const dots = series.points
      .filter(([, py]) => py !== undefined && Number.isFinite(py))
      .map(
        ([px, py]) =>
          `<circle cx="${x(px).toFixed(1)}" cy="${y(py as number).toFixed(1)}" r="2.2" fill="${color}"><title>${escapeHtml(series.name)} at ${px}: ${escapeHtml(format(py as number))}</title></circle>`,
      )
      .join('');
    parts.push(
      `<path class="series" data-series="${escapeHtml(series.name)}" data-points="${count}" d="${path.trim()}" stroke="${color}" fill="none" stroke-width="1.8"/>${dots}`,
    );
    legend.push(
      `<span class="key"><span class="swatch" style="background:${color}"></span>${escapeHtml(series.name)}</span>`,
    );
  });
  return `<figure class="chart" id="${escapeHtml(chart.id)}"><figcaption>${escapeHtml(chart.title)}</figcaption><svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(chart.title)}">${parts.join('')}</svg><div class="legend">${legend.join('')}</div></figure>`;
}
