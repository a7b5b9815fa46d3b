/**
 * Charts: Vega-Lite v5 specs with inline data, rendered to static SVG at build time (no browser,
 * no network, no scripts in the page). Also a few spec builders shared by the report sections.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

type Spec = Record<string, unknown>;

/** House style applied under every spec (a spec's own `config` wins). */
export const chartTheme: Spec = {
  font: 'Inter, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  background: 'transparent',
  view: { stroke: null },
  axis: {
    labelColor: '#475467',
    titleColor: '#344054',
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 12,
    gridColor: '#eaecf0',
    domainColor: '#98a2b3',
    tickColor: '#98a2b3',
  },
  legend: { labelColor: '#475467', titleColor: '#344054', labelFontSize: 11, titleFontSize: 12, labelLimit: 360, columns: 1 },
  title: { color: '#101828', fontSize: 13, fontWeight: 600, anchor: 'start' },
  range: { category: ['#2563eb', '#f97316', '#16a34a', '#dc2626', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'] },
  line: { strokeWidth: 2 },
  point: { size: 40, filled: true },
  bar: { color: '#2563eb' },
};

function withTheme(spec: Spec): Spec {
  const own = (spec.config as Spec | undefined) ?? {};
  const merged: Spec = { ...chartTheme };
  for (const [k, v] of Object.entries(own)) {
    const base = merged[k];
    merged[k] = base && typeof base === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...(base as Spec), ...(v as Spec) } : v;
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec, config: merged };
}

/**
 * Renders a Vega-Lite spec to an SVG string. The SVG keeps its `viewBox` and drops the fixed
 * width/height so that CSS can scale it (`width: 100%`), and carries a `<title>` for screen readers.
 */
export async function renderSvg(spec: Spec, title?: string): Promise<string> {
  const key = `${title ?? ''}\u0000${JSON.stringify(spec)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const svg = await renderSvgUncached(spec, title);
  if (cache.size > 64) cache.clear();
  cache.set(key, svg);
  return svg;
}

const cache = new Map<string, string>();

async function renderSvgUncached(spec: Spec, title?: string): Promise<string> {
  const compiled = vl.compile(withTheme(spec) as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return makeResponsive(svg, title);
  } finally {
    view.finalize();
  }
}

function makeResponsive(svg: string, title?: string): string {
  const m = /^<svg([^>]*)>/.exec(svg);
  if (!m) return svg;
  const attrs = m[1];
  const w = /\swidth="([\d.]+)"/.exec(attrs)?.[1];
  const h = /\sheight="([\d.]+)"/.exec(attrs)?.[1];
  let open = attrs.replace(/\swidth="[\d.]+"/, '').replace(/\sheight="[\d.]+"/, '');
  if (!/viewBox=/.test(open) && w && h) open += ` viewBox="0 0 ${w} ${h}"`;
  const style = w ? ` style="max-width:${w}px"` : '';
  const t = title ? `<title>${escapeXml(title)}</title>` : '';
  // The white background rect vega adds is dropped: the page's card colour shows through.
  const body = svg.slice(m[0].length).replace(/^<rect width="[\d.]+" height="[\d.]+" fill="(white|transparent)"\/>/, '');
  return `<svg${open} role="img" preserveAspectRatio="xMinYMin meet"${style}>${t}${body}`;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

// ---------------------------------------------------------------------------------------------
// Spec builders (plain data in, Vega-Lite spec out). Shared by report sections.

export interface LineSpecOptions {
  x: string;
  y: string;
  series?: string;
  xTitle?: string;
  yTitle?: string;
  yDomain?: [number, number];
  yFormat?: string;
  width?: number;
  height?: number;
  points?: boolean;
  /** Order of the series in the legend and colours (default: sorted). */
  seriesOrder?: string[];
}

/** Line chart of `rows` (one line per `series` value). */
export function lineSpec(rows: Record<string, unknown>[], o: LineSpecOptions): Spec {
  const xs = [...new Set(rows.map((r) => r[o.x]).filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b);
  const integerX = xs.length > 0 && xs.length <= 12 && xs.every((v) => Number.isInteger(v));
  const enc: Spec = {
    x: {
      field: o.x,
      type: 'quantitative',
      title: o.xTitle ?? o.x,
      axis: integerX ? { values: xs, format: 'd' } : {},
      scale: integerX && xs.length === 1 ? { domain: [xs[0] - 1, xs[0] + 1] } : { zero: false },
    },
    y: {
      field: o.y,
      type: 'quantitative',
      title: o.yTitle ?? o.y,
      scale: o.yDomain ? { domain: o.yDomain, zero: false } : { zero: false },
      axis: o.yFormat ? { format: o.yFormat } : {},
    },
  };
  const nSeries = o.series ? new Set(rows.map((r) => String(r[o.series as string]))).size : 0;
  if (o.series)
    enc.color = {
      field: o.series,
      type: 'nominal',
      title: null,
      ...(o.seriesOrder ? { scale: { domain: o.seriesOrder }, sort: o.seriesOrder } : {}),
      legend: nSeries > 4 ? { orient: 'right' } : { orient: 'bottom', direction: 'horizontal' },
    };
  return {
    width: o.width ?? 360,
    height: o.height ?? 220,
    data: { values: rows },
    mark: { type: 'line', point: o.points ?? true },
    encoding: enc,
  };
}

export interface BarSpecOptions {
  category: string;
  value: string;
  valueTitle?: string;
  categoryTitle?: string;
  valueDomain?: [number, number];
  valueFormat?: string;
  /** Field whose boolean value highlights a bar (e.g. the weakest classes). */
  highlight?: string;
  width?: number;
  /** Show the value as a label at the end of each bar. */
  labels?: boolean;
}

/** Horizontal bar chart, categories in the data's order. */
export function barSpec(rows: Record<string, unknown>[], o: BarSpecOptions): Spec {
  const order = rows.map((r) => String(r[o.category]));
  const x: Spec = {
    field: o.value,
    type: 'quantitative',
    title: o.valueTitle ?? o.value,
    axis: o.valueFormat ? { format: o.valueFormat } : {},
  };
  if (o.valueDomain) x.scale = { domain: o.valueDomain };
  const y: Spec = { field: o.category, type: 'nominal', sort: order, title: o.categoryTitle ?? null };
  const color = o.highlight
    ? {
        field: o.highlight,
        type: 'nominal',
        scale: { domain: [false, true], range: ['#2563eb', '#f97316'] },
        legend: null,
      }
    : { value: '#2563eb' };
  const layers: Spec[] = [{ mark: { type: 'bar', cornerRadiusEnd: 3, height: { band: 0.72 } }, encoding: { x, y, color } }];
  if (o.labels !== false) {
    layers.push({
      mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#344054' },
      encoding: {
        x: { field: o.value, type: 'quantitative' },
        y: { field: o.category, type: 'nominal', sort: order },
        text: { field: o.value, type: 'quantitative', format: o.valueFormat ?? '.3~f' },
      },
    });
  }
  return { width: o.width ?? 340, height: { step: 22 }, data: { values: rows }, layer: layers };
}

/**
 * Horizontal grouped bars: one band per category (in the given order), one bar per metric inside it,
 * coloured by metric (e.g. throughput and energy efficiency per method or layer).
 */
export function groupedBarSpec(rows: { category: string; metric: string; value: number }[], o: { order: string[]; valueTitle: string }): Spec {
  return {
    width: 420,
    height: 220,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'category', type: 'nominal', sort: o.order, title: null },
      yOffset: { field: 'metric' },
      x: { field: 'value', type: 'quantitative', title: o.valueTitle },
      color: { field: 'metric', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  };
}

export interface HeatmapSpecOptions {
  row: string;
  column: string;
  value: string;
  rowTitle?: string;
  columnTitle?: string;
  valueTitle?: string;
  /** Category order for both axes. */
  order?: string[];
  /** Field used for the cell text (e.g. the count, while colour shows the row rate). */
  text?: string;
  size?: number;
}

/** Heatmap (e.g. a confusion matrix: rows = true class, columns = predicted class). */
export function heatmapSpec(rows: Record<string, unknown>[], o: HeatmapSpecOptions): Spec {
  const size = o.size ?? 400;
  const x: Spec = { field: o.column, type: 'nominal', title: o.columnTitle ?? o.column, axis: { labelAngle: -40 } };
  const y: Spec = { field: o.row, type: 'nominal', title: o.rowTitle ?? o.row };
  if (o.order) {
    x.sort = o.order;
    y.sort = o.order;
  }
  const textField = o.text ?? o.value;
  return {
    width: size,
    height: size,
    data: { values: rows },
    encoding: { x, y },
    layer: [
      {
        mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 1 },
        encoding: {
          color: {
            field: o.value,
            type: 'quantitative',
            title: o.valueTitle ?? o.value,
            scale: { domain: [0, 0.5, 1], range: ['#f5f8ff', '#6b9cf0', '#1e3a8a'] },
            legend: { orient: 'right', gradientLength: size * 0.6 },
          },
        },
      },
      {
        transform: [{ filter: `datum['${textField}'] != 0` }],
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: textField, type: 'quantitative' },
          color: { condition: { test: `datum['${o.value}'] > 0.5`, value: '#ffffff' }, value: '#1f2937' },
        },
      },
    ],
  };
}
