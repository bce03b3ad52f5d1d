/**
 * What a page is rendered with. A module of its own, free of chart code: the
 * declarations of trade-state-engine/report (index -> render -> here) must not
 * reach charts.ts, whose types name Observable Plot's and linkedom's, whose
 * own declarations do not type-check in a strict consumer (skipLibCheck off).
 */
export interface RenderOptions {
  title: string;
  /** Shown under the title, e.g. the log's file name. */
  source?: string | undefined;
}
