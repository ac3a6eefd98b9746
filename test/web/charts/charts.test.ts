import type { EventCounts, TimelineBucket } from '../../../src/isnotai/types';
import { activityTimelineChart, eventCountsChart, scoreOverTimeChart, type ScorePoint } from '../../../src/web/charts';
import { all, assertInert, parseXml, textOf, type XmlElement } from './xml';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><svg onload=alert(1)>',
  "'><img src=x onerror=alert(1)>",
  ']]><!-- x --><![CDATA[',
  '&amp; &lt; &#60; &bogus;',
  'javascript:alert(1)',
  '\u202Emoc.live',
  'x'.repeat(10_000),
];

/** Parse, check vocabulary, and check the accessible shell. */
function inspect(svg: string): XmlElement {
  const root = parseXml(svg);
  assertInert(root);
  expect(root.name).toBe('svg');
  expect(root.attrs.role).toBe('img');
  const [titleId, descId] = root.attrs['aria-labelledby'].split(' ');
  const ids = new Map(
    all(root, 'title')
      .concat(all(root, 'desc'))
      .map((e) => [e.attrs.id, e] as const),
  );
  expect(ids.get(titleId)?.name).toBe('title');
  expect(ids.get(descId)?.name).toBe('desc');
  // Raw text may say "onload=" (escaped, inert); inside a real tag it must not.
  expect(svg).not.toMatch(/<script|<[a-z][^>]*\son[a-z]*\s*=|<!--|<!\[CDATA/i);
  expect(svg).not.toMatch(/\s(?:href|xlink:href|style)=/i);
  return root;
}

function day(d: string): Date {
  return new Date(`${d}T12:00:00Z`);
}

describe('scoreOverTimeChart', () => {
  const points: ScorePoint[] = [
    { at: day('2026-11-18'), score: 0.93, label: 'ses_c' },
    { at: day('2026-11-03'), score: 0.12, label: 'ses_a' },
    { at: day('2026-11-10'), score: 0.4, label: 'ses_b' },
    { at: day('2026-11-20'), score: 0.7, label: 'ses_d' },
  ];

  it('summarises the sessions in words', () => {
    const { summary } = scoreOverTimeChart(points);
    expect(summary).toBe('4 sessions from 3 Nov to 20 Nov 2026; 2 high, 1 elevated, 1 low; highest 0.93 on 18 Nov 2026.');
  });

  it('gives a table in time order with levels in words', () => {
    const { table } = scoreOverTimeChart(points);
    expect(table).toEqual([
      { at: '2026-11-03T12:00:00.000Z', date: '3 Nov 2026', score: '0.12', level: 'low', levelLabel: 'Low', label: 'ses_a' },
      { at: '2026-11-10T12:00:00.000Z', date: '10 Nov 2026', score: '0.40', level: 'elevated', levelLabel: 'Elevated', label: 'ses_b' },
      { at: '2026-11-18T12:00:00.000Z', date: '18 Nov 2026', score: '0.93', level: 'high', levelLabel: 'High', label: 'ses_c' },
      { at: '2026-11-20T12:00:00.000Z', date: '20 Nov 2026', score: '0.70', level: 'high', levelLabel: 'High', label: 'ses_d' },
    ]);
  });

  it('draws labelled threshold lines and one marker per session, shaped by level', () => {
    const root = inspect(scoreOverTimeChart(points).svg);
    const texts = all(root, 'text').map(textOf);
    expect(texts).toEqual(expect.arrayContaining(['High 0.70', 'Elevated 0.40', 'High (triangle)', 'Elevated (diamond)', 'Low (circle)']));
    const pointsG = all(root, 'g').filter((g) => g.attrs.class?.startsWith('point '));
    expect(pointsG.map((g) => g.attrs.class)).toEqual(['point point-low', 'point point-elevated', 'point point-high', 'point point-high']);
    // shape, not only colour: high/elevated are paths (triangle/diamond), low a hollow circle
    expect(pointsG.map((g) => (g.children.find((c) => typeof c !== 'string' && c.name !== 'title') as XmlElement).name)).toEqual([
      'circle',
      'path',
      'path',
      'path',
    ]);
    const triangle = all(pointsG[2], 'path')[0].attrs.d;
    const diamond = all(pointsG[1], 'path')[0].attrs.d;
    expect(triangle.split('L')).toHaveLength(3);
    expect(diamond.split('L')).toHaveLength(4);
    // each marker has a text title with date, score and level
    expect(textOf(all(pointsG[2], 'title')[0])).toBe('18 Nov 2026: score 0.93 (High) — ses_c');
    expect(all(root, 'line').filter((l) => l.attrs.class?.startsWith('threshold'))).toHaveLength(2);
  });

  it('places the threshold lines where the scores are (0.7 above 0.4, higher scores higher)', () => {
    const root = inspect(scoreOverTimeChart(points, { width: 600, height: 300 }).svg);
    const [high, elevated] = all(root, 'line').filter((l) => l.attrs.class?.startsWith('threshold'));
    expect(Number(high.attrs.y1)).toBeLessThan(Number(elevated.attrs.y1));
    expect(root.attrs.viewBox).toBe('0 0 600 300');
  });

  it('follows custom thresholds and the levels given with points', () => {
    const t = { high: 0.9, elevated: 0.5 };
    const { svg, table, summary } = scoreOverTimeChart(points, { thresholds: t });
    expect(table.map((r) => r.level)).toEqual(['low', 'low', 'high', 'elevated']);
    expect(summary).toContain('1 high, 1 elevated, 2 low');
    expect(all(inspect(svg), 'text').map(textOf)).toEqual(expect.arrayContaining(['High 0.90', 'Elevated 0.50']));
    expect(scoreOverTimeChart([{ at: day('2026-11-01'), score: 0.1, level: 'high', label: '' }]).table[0].level).toBe('high');
  });

  it('a single session is drawn and summarised on its day', () => {
    const { svg, summary } = scoreOverTimeChart([{ at: day('2026-11-05'), score: 0.2, label: 'only' }]);
    expect(summary).toBe('1 session on 5 Nov 2026; 1 low; highest 0.20 on 5 Nov 2026.');
    const root = inspect(svg);
    expect(all(root, 'circle').length).toBeGreaterThanOrEqual(1);
    const dayLabels = all(root, 'text')
      .filter((t) => t.attrs['text-anchor'] === 'middle')
      .map(textOf);
    expect(dayLabels).toEqual([...new Set(dayLabels)]);
    expect(dayLabels).toContain('5 Nov');
  });

  it('spans years explicitly', () => {
    const { summary } = scoreOverTimeChart([
      { at: day('2025-12-28'), score: 0.2, label: '' },
      { at: day('2026-01-03'), score: 0.5, label: '' },
    ]);
    expect(summary).toMatch(/^2 sessions from 28 Dec 2025 to 3 Jan 2026;/);
  });

  it('skips and reports points without a readable date or score', () => {
    const { table, summary } = scoreOverTimeChart([
      { at: new Date('nope'), score: 0.5, label: 'a' },
      { at: day('2026-11-05'), score: Number.NaN, label: 'b' },
      { at: day('2026-11-06'), score: 1.2, label: 'c' },
      { at: day('2026-11-07'), score: 0.3, label: 'd' },
    ]);
    expect(table.map((r) => r.label)).toEqual(['d']);
    expect(summary).toContain('3 sessions without a readable date or score not shown.');
  });

  it('no data → a small "No data" SVG and a summary', () => {
    const { svg, table, summary } = scoreOverTimeChart([]);
    const root = inspect(svg);
    expect(table).toEqual([]);
    expect(summary).toBe('No sessions to chart.');
    expect(all(root, 'text').map(textOf)).toEqual(['No data']);
    expect(textOf(all(root, 'desc')[0])).toBe('No sessions to chart.');
  });

  it('renders hostile labels, titles and ids as inert text', () => {
    for (const h of HOSTILE) {
      const { svg, table } = scoreOverTimeChart([{ at: day('2026-11-05'), score: 0.8, label: h }], { title: h, id: h });
      const root = inspect(svg);
      const title = textOf(all(root, 'title')[0]);
      expect(title.length).toBeLessThanOrEqual(200);
      expect(title).not.toContain('\u202E');
      // the marker title carries the label as text, clipped
      const markerTitle = textOf(
        all(
          all(root, 'g').find((g) => g.attrs.class === 'point point-high')!,
          'title',
        )[0],
      );
      expect(markerTitle.startsWith('5 Nov 2026: score 0.80 (High) — ')).toBe(true);
      expect(h.startsWith(markerTitle.slice(32, 60).replace('…', ''))).toBe(h !== '\u202Emoc.live');
      expect(table[0].label.length).toBeLessThanOrEqual(500);
      expect(svg.length).toBeLessThan(10_000);
    }
    const { svg } = scoreOverTimeChart([{ at: day('2026-11-05'), score: 0.8, label: '<script>alert(1)</script>' }]);
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('eventCountsChart', () => {
  const counts: EventCounts = { total: 1234, mouse: 800, scroll: 100, keyboard: 300, touch: 0, form: 34 };

  it('summary and table in words and numbers', () => {
    const { summary, table } = eventCountsChart(counts);
    expect(summary).toBe('1,234 events: mouse 800, keyboard 300, scroll 100, form 34, touch 0.');
    expect(table).toEqual([
      { kind: 'mouse', label: 'Mouse', count: 800, countText: '800' },
      { kind: 'keyboard', label: 'Keyboard', count: 300, countText: '300' },
      { kind: 'scroll', label: 'Scroll', count: 100, countText: '100' },
      { kind: 'touch', label: 'Touch', count: 0, countText: '0' },
      { kind: 'form', label: 'Form', count: 34, countText: '34' },
    ]);
  });

  it('one bar per kind, widths proportional, each with its value as text', () => {
    const root = inspect(eventCountsChart(counts, { width: 480 }).svg);
    const bars = all(root, 'rect').filter((r) => r.attrs.class?.startsWith('bar '));
    expect(bars).toHaveLength(5);
    const w = Object.fromEntries(bars.map((b) => [b.attrs.class.replace('bar bar-', ''), Number(b.attrs.width)]));
    expect(w.mouse).toBeCloseTo((w.keyboard * 800) / 300, 0);
    expect(w.touch).toBe(0);
    const texts = all(root, 'text').map(textOf);
    for (const v of ['800', '300', '100', '0', '34', 'Mouse', 'Touch']) expect(texts).toContain(v);
  });

  it('formats large numbers', () => {
    expect(eventCountsChart({ total: 1_500_000, mouse: 1_500_000, scroll: 0, keyboard: 0, touch: 0, form: 0 }).summary).toMatch(
      /^1,500,000 events: mouse 1,500,000/,
    );
  });

  it('no events → No data', () => {
    const { svg, summary } = eventCountsChart({ total: 0, mouse: 0, scroll: 0, keyboard: 0, touch: 0, form: 0 });
    expect(summary).toBe('No events recorded.');
    expect(all(inspect(svg), 'text').map(textOf)).toEqual(['No data']);
    expect(eventCountsChart(null).summary).toBe('No events recorded.');
  });

  it('malformed counts are read as 0, not drawn as NaN', () => {
    const { svg, table } = eventCountsChart({
      total: 5,
      mouse: Number.NaN,
      scroll: -3,
      keyboard: 5,
      touch: Infinity,
      form: '7' as unknown as number,
    });
    expect(table.map((r) => r.count)).toEqual([0, 5, 0, 0, 0]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    inspect(svg);
  });
});

describe('activityTimelineChart', () => {
  const timeline: TimelineBucket[] = [
    { timestamp: '2026-11-05T09:10:00Z', eventCount: 12, dominantEventType: 'keydown', activityLevel: 0.2 },
    { timestamp: '2026-11-05T09:00:00Z', eventCount: 40, dominantEventType: 'mouse_move', activityLevel: 0.8 },
    { timestamp: '2026-11-05T09:05:00Z', eventCount: 0, dominantEventType: '', activityLevel: 0 },
  ];

  it('summary and table in time order', () => {
    const { summary, table } = activityTimelineChart(timeline);
    expect(summary).toBe('3 intervals from 09:00 UTC to 09:10 UTC; 52 events; busiest 09:00 UTC with 40 events (mostly mouse_move).');
    expect(table.map((r) => [r.time, r.eventCount, r.dominantEventType])).toEqual([
      ['09:00 UTC', 40, 'mouse_move'],
      ['09:05 UTC', 0, ''],
      ['09:10 UTC', 12, 'keydown'],
    ]);
  });

  it('bar heights follow the counts, with time ticks and a count axis', () => {
    const root = inspect(activityTimelineChart(timeline).svg);
    const bars = all(root, 'g').filter((g) => g.attrs.class === 'bucket');
    const heights = bars.map((b) => Number(all(b, 'rect')[0].attrs.height));
    expect(heights[0]).toBeGreaterThan(heights[2]);
    expect(heights[1]).toBe(0);
    expect(textOf(all(bars[0], 'title')[0])).toBe('09:00 UTC: 40 events, mostly mouse_move');
    const texts = all(root, 'text').map(textOf);
    expect(texts).toContain('09:00');
    expect(texts).toContain('0');
  });

  it('names the day when the session spans midnight', () => {
    const { table } = activityTimelineChart([
      { timestamp: '2026-11-05T23:55:00Z', eventCount: 1, dominantEventType: 'scroll', activityLevel: 0.1 },
      { timestamp: '2026-11-06T00:05:00Z', eventCount: 1, dominantEventType: 'scroll', activityLevel: 0.1 },
    ]);
    expect(table.map((r) => r.time)).toEqual(['5 Nov 23:55 UTC', '6 Nov 00:05 UTC']);
  });

  it('many buckets get a bounded number of tick labels', () => {
    const many: TimelineBucket[] = Array.from({ length: 300 }, (_, i) => ({
      timestamp: new Date(Date.UTC(2026, 10, 5, 9, 0, i * 10)).toISOString(),
      eventCount: i % 7,
      dominantEventType: 'mouse_move',
      activityLevel: 0.5,
    }));
    const root = inspect(activityTimelineChart(many, { width: 640 }).svg);
    const tickLabels = all(root, 'text').filter((t) => t.attrs['text-anchor'] === 'middle');
    expect(tickLabels.length).toBeGreaterThan(2);
    expect(tickLabels.length).toBeLessThanOrEqual(9);
  });

  it('no buckets or unreadable timestamps → No data', () => {
    for (const t of [[], null, [{ timestamp: 'nope', eventCount: 3, dominantEventType: 'x', activityLevel: 1 }]]) {
      const { svg, summary } = activityTimelineChart(t as TimelineBucket[] | null);
      expect(summary).toBe('No activity recorded.');
      expect(all(inspect(svg), 'text').map(textOf)).toEqual(['No data']);
    }
  });

  it('renders hostile dominant event types as inert text', () => {
    for (const h of HOSTILE) {
      const { svg, summary, table } = activityTimelineChart(
        [{ timestamp: '2026-11-05T09:00:00Z', eventCount: 3, dominantEventType: h, activityLevel: 1 }],
        { title: h },
      );
      const root = inspect(svg);
      expect(table[0].dominantEventType.length).toBeLessThanOrEqual(60);
      expect(summary).not.toContain('\u202E');
      const barTitle = textOf(
        all(
          all(root, 'g').find((g) => g.attrs.class === 'bucket')!,
          'title',
        )[0],
      );
      expect(barTitle.startsWith('09:00 UTC: 3 events, mostly ')).toBe(true);
    }
    const { svg } = activityTimelineChart([
      { timestamp: '2026-11-05T09:00:00Z', eventCount: 3, dominantEventType: '"><svg onload=alert(1)>', activityLevel: 1 },
    ]);
    expect(svg).toContain('mostly &quot;&gt;&lt;svg onload=alert(1)&gt;');
  });
  describe('marks on the time axis', () => {
    const at = (hms: string) => new Date(`2026-11-05T${hms}Z`);
    const marks = [
      { at: at('09:12:00'), label: 'paste' },
      { at: at('09:01:00'), label: 'paste' },
      { at: at('09:01:30'), label: 'form_input' },
      { at: at('08:59:59'), label: 'paste' }, // before the first bucket
      { at: at('09:15:00'), label: 'paste' }, // the last bucket (09:10) ends at 09:15
    ];
    const markGroups = (root: XmlElement) => all(root, 'g').filter((g) => g.attrs.class === 'mark');
    const markX = (g: XmlElement) => Number(all(g, 'line')[0].attrs.x1);
    const barSpan = (root: XmlElement, i: number) => {
      const rect = all(all(root, 'g').filter((g) => g.attrs.class === 'bucket')[i], 'rect')[0];
      return [Number(rect.attrs.x), Number(rect.attrs.x) + Number(rect.attrs.width)];
    };

    it('marks each moment within its bucket, says how many in words, and counts them per bucket in the table', () => {
      const { svg, summary, table } = activityTimelineChart(timeline, { marks, marksOf: 'paste_burst' });
      expect(summary).toBe(
        '3 intervals from 09:00 UTC to 09:10 UTC; 52 events; busiest 09:00 UTC with 40 events (mostly mouse_move).' +
          ' 3 moments of paste_burst marked; 2 more fall outside the timeline and are not marked.',
      );
      expect(table.map((r) => r.marks)).toEqual([2, 0, 1]);
      const root = inspect(svg);
      expect(textOf(all(root, 'desc')[0])).toBe(summary);
      const groups = markGroups(root);
      expect(groups.map((g) => textOf(all(g, 'title')[0]))).toEqual([
        '09:01:00 UTC: paste',
        '09:01:30 UTC: form_input',
        '09:12:00 UTC: paste',
      ]);
      const [first, second, third] = groups.map(markX);
      const [b0from, b0to] = barSpan(root, 0);
      const [b2from, b2to] = barSpan(root, 2);
      expect(first).toBeGreaterThan(b0from);
      expect(second).toBeGreaterThan(first);
      expect(second).toBeLessThan(b0to);
      expect(third).toBeGreaterThan(b2from);
      expect(third).toBeLessThan(b2to);
      // A legend says what the marks are.
      expect(all(root, 'text').map(textOf)).toContain('Marked: 3 moments of paste_burst');
    });

    it('without marks: no marks drawn and no count in the table', () => {
      const { svg, table } = activityTimelineChart(timeline);
      expect(markGroups(inspect(svg))).toEqual([]);
      expect(table.every((r) => r.marks === null)).toBe(true);
    });

    it('says so when there is nothing to mark, or nothing within the timeline', () => {
      expect(activityTimelineChart(timeline, { marks: [], marksOf: 'paste_burst' }).summary).toMatch(
        / No moments of paste_burst to mark\.$/,
      );
      const outside = activityTimelineChart(timeline, {
        marks: [marks[3], { at: new Date(Number.NaN), label: 'x' }],
        marksOf: 'paste_burst',
      });
      expect(outside.summary).toMatch(/ None of the 2 moments of paste_burst falls within the timeline, so none is marked\.$/);
      expect(markGroups(inspect(outside.svg))).toEqual([]);
      expect(outside.table.map((r) => r.marks)).toEqual([0, 0, 0]);
      expect(activityTimelineChart([], { marks, marksOf: 'paste_burst' }).summary).toBe(
        'No activity recorded. 5 moments of paste_burst could not be marked.',
      );
    });

    it('moments a pixel apart are one mark whose title says how many', () => {
      const burst = Array.from({ length: 40 }, (_, i) => ({
        at: new Date(at('09:06:00').getTime() + i * 100),
        label: i % 2 ? 'paste' : 'form_input',
      }));
      const { svg, summary, table } = activityTimelineChart(timeline, { marks: burst, marksOf: 'paste_burst' });
      expect(summary).toMatch(/ 40 moments of paste_burst marked\.$/);
      expect(table.map((r) => r.marks)).toEqual([0, 40, 0]);
      const groups = markGroups(inspect(svg));
      expect(groups.length).toBeLessThan(5);
      const titles = groups.map((g) => textOf(all(g, 'title')[0]));
      expect(titles[0]).toMatch(/^\d+ moments from 09:06:00 UTC to 09:06:0\d UTC: form_input, paste$/);
    });

    it('a single bucket of unknown width takes every moment from its start, drawn at its middle', () => {
      const one: TimelineBucket[] = [{ timestamp: '2026-11-05T09:00:00Z', eventCount: 5, dominantEventType: 'paste', activityLevel: 1 }];
      const { svg, table } = activityTimelineChart(one, {
        marks: [
          { at: at('08:00:00'), label: 'paste' },
          { at: at('09:03:00'), label: 'paste' },
        ],
      });
      expect(table[0].marks).toBe(1);
      const root = inspect(svg);
      const [from, to] = barSpan(root, 0);
      expect(markGroups(root).map(markX)).toEqual([Math.round((from + to) / 2)]);
    });

    it('hostile labels and names of what is marked are inert text', () => {
      for (const h of HOSTILE) {
        const { svg, summary } = activityTimelineChart(timeline, { marks: [{ at: at('09:02:00'), label: h }], marksOf: h });
        const root = inspect(svg);
        expect(summary).not.toContain('\u202E');
        expect(textOf(all(markGroups(root)[0], 'title')[0]).startsWith('09:02:00 UTC: ')).toBe(true);
      }
    });
  });
});
