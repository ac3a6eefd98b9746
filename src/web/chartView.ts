/**
 * Charts enter templates as Handlebars SafeStrings: the SVG is markup we generate, with every
 * upstream text inside it XML-escaped by src/web/charts/, so templates never need {{{ }}}.
 */
import Handlebars from 'handlebars';
import type { ChartResult } from './charts';

export function chartView<Row>(chart: ChartResult<Row>): { svg: Handlebars.SafeString; summary: string; table: Row[] } {
  return { svg: new Handlebars.SafeString(chart.svg), summary: chart.summary, table: chart.table };
}
