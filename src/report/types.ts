/**
 * The report's neutral content model. Study sections (src/report/sections/*) turn result JSON into
 * these; the renderer (src/report/html.ts) turns them into one self-contained HTML page.
 * Figures are Vega-Lite specs with inline data; they are rendered to SVG at build time.
 */
export type Cell = string | number | boolean | null;

export interface ReportTable {
  title: string;
  columns: string[];
  rows: Cell[][];
  note?: string;
}

export interface ReportFigure {
  title: string;
  /** A Vega-Lite v5 spec with inline `data.values`. */
  spec: Record<string, unknown>;
  caption?: string;
  /** Span the full width of the section instead of sharing a row with another figure. */
  wide?: boolean;
}

export interface ReportSection {
  id: string;
  title: string;
  paragraphs?: string[];
  /** Key numbers shown as tiles at the top of the section. */
  highlights?: { label: string; value: string; hint?: string }[];
  figures?: ReportFigure[];
  tables?: ReportTable[];
  subsections?: ReportSection[];
}

export interface ReportDocument {
  title: string;
  subtitle?: string;
  generatedAt: string;
  sections: ReportSection[];
}
