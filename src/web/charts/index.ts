/** Server-rendered, accessible SVG charts (no JavaScript), each with a summary and a data table. */
export { scoreOverTimeChart, type ScoreChartOptions, type ScorePoint, type ScoreTableRow } from './scoreOverTime';
export { eventCountsChart, type EventCountRow, type EventCountsOptions, type EventKind } from './eventCounts';
export { activityTimelineChart, type TimelineOptions, type TimelineRow } from './activityTimeline';
export { cleanText, escapeXml, safeId, svgText } from './escape';
export type { ChartResult } from './frame';
