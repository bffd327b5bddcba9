/**
 * The panel's charts, drawn with chart.js: loop lag, busy share, callbacks on lanes, queues, CPU and memory,
 * stacked with one time axis. Zoom and pan (chartjs-plugin-zoom) on any chart move them all.
 *
 * Kept cheap for live data: no animation, line series handed over already parsed (`parsing: false`), at most
 * the panel's point budget in all (see viewState.ts), and every chart updated with mode 'none'.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  type Scale,
  Tooltip,
  type TooltipItem,
} from 'chart.js';
import { color } from 'chart.js/helpers';
import zoomPlugin from 'chartjs-plugin-zoom';
import { formatMs } from '../../protocol/format';
import type { Theme } from './theme';
import { type CallbackBar, describeBar, formatAxisTime, type Series, type TimelineModel } from './timelineModel';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend, zoomPlugin);

/** Every chart's y axis takes this width, so the plot areas, and so the times, line up. */
const Y_AXIS_WIDTH = 150;
const LANE_HEIGHT_PX = 18;

type LineName = 'lag' | 'utilization' | 'queues' | 'cpu' | 'memory';
const LINE_CHARTS: { name: LineName; title: string; yMax?: number }[] = [
  { name: 'lag', title: 'Loop lag (ms)' },
  { name: 'utilization', title: 'Busy (%)', yMax: 100 },
  { name: 'queues', title: 'Queues' },
  { name: 'cpu', title: 'CPU (% of one core)' },
  { name: 'memory', title: 'Memory (MB)' },
];
/** Top to bottom; callbacks under the loop charts that explain them. */
const ORDER = ['lag', 'utilization', 'callbacks', 'queues', 'cpu', 'memory'] as const;
type ChartName = (typeof ORDER)[number];

export interface ChartEvents {
  /** The user zoomed or panned a chart to this x window (ms). */
  onWindow(window: { min: number; max: number }, live: boolean): void;
  /** The user clicked a bar. */
  onOpen(bar: CallbackBar): void;
}

type BarChart = Chart<'bar', CallbackBar[], string>;
type LineChart = Chart<'line', { x: number; y: number }[]>;

export class TimelineCharts {
  private readonly sections = new Map<ChartName, HTMLElement>();
  private readonly lines = new Map<LineName, LineChart>();
  private readonly callbacks: BarChart;
  private model: TimelineModel | undefined;
  /** The model's bars in the drawn window, longest first: sorted once per draw or move. */
  private longestFirst: CallbackBar[] = [];
  private theme: Theme;
  /** Set while this code moves the charts, so their zoom callbacks do not echo it back. */
  private syncing = false;

  constructor(container: HTMLElement, theme: Theme, private readonly events: ChartEvents) {
    this.theme = theme;
    for (const name of ORDER) {
      const section = document.createElement('section');
      section.className = `chart chart-${name}`;
      section.dataset.testid = `chart-${name}`;
      const heading = document.createElement('h2');
      heading.textContent = name === 'callbacks' ? 'Callbacks' : (LINE_CHARTS.find((c) => c.name === name)?.title ?? name);
      const holder = document.createElement('div');
      holder.className = 'canvas-holder';
      const canvas = document.createElement('canvas');
      holder.append(canvas);
      section.append(heading, holder);
      container.append(section);
      this.sections.set(name, section);
    }
    this.callbacks = new Chart(this.canvas('callbacks'), this.barConfig());
    for (const { name, yMax } of LINE_CHARTS) this.lines.set(name, new Chart(this.canvas(name), this.lineConfig(yMax, name === 'memory')));
  }

  /** The callbacks canvas, for keyboard focus. */
  get callbacksCanvas(): HTMLCanvasElement {
    return this.callbacks.canvas;
  }

  /** Width of the plot area in CSS pixels: what a query's point count is sized for. */
  get plotWidthPx(): number {
    const area = this.callbacks.chartArea as { width: number } | undefined;
    return Math.max(100, area?.width ?? this.callbacks.width - Y_AXIS_WIDTH);
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    for (const chart of this.all()) this.applyTheme(chart);
    if (this.model) this.render(this.model, this.xWindow());
  }

  /** Draws `model` with the x axis at `window` (ms). */
  render(model: TimelineModel, window: { min: number; max: number }): void {
    this.model = model;
    this.syncing = true;
    try {
      const lanes = model.lanes;
      const holder = this.callbacks.canvas.parentElement;
      if (holder) holder.style.height = `${Math.max(3, lanes.length) * LANE_HEIGHT_PX + 40}px`;
      const bars = this.callbacks;
      bars.data.labels = lanes;
      const dataset = bars.data.datasets[0];
      if (dataset) {
        const { fill, border } = this.barColours(model.callbacks);
        dataset.data = model.callbacks;
        dataset.backgroundColor = fill;
        dataset.borderWidth = border;
        dataset.borderColor = this.theme.foreground;
      }
      this.setX(bars, window);
      bars.update('none');
      for (const { name } of LINE_CHARTS) {
        const chart = this.lines.get(name);
        if (!chart) continue;
        chart.data.datasets = this.lineDatasets(model[name]);
        this.setX(chart, window);
        chart.update('none');
      }
    } finally {
      this.syncing = false;
    }
    this.describe(model, window);
  }

  /** Moves every chart's x axis, without asking for data: the caller does that. */
  moveTo(window: { min: number; max: number }): void {
    this.syncing = true;
    try {
      for (const chart of this.all()) {
        this.setX(chart, window);
        chart.update('none');
      }
    } finally {
      this.syncing = false;
    }
    if (this.model) this.describe(this.model, window);
  }

  xWindow(): { min: number; max: number } {
    const x = this.callbacks.scales.x;
    return { min: x?.min ?? 0, max: x?.max ?? 1 };
  }

  /** The `count` longest bars in the window, longest first. */
  slowestInView(count: number): CallbackBar[] {
    return this.longestFirst.slice(0, count);
  }

  destroy(): void {
    for (const chart of this.all()) chart.destroy();
  }

  private all(): Chart[] {
    return [this.callbacks as unknown as Chart, ...([...this.lines.values()] as unknown as Chart[])];
  }

  private canvas(name: ChartName): HTMLCanvasElement {
    const canvas = this.sections.get(name)?.querySelector('canvas');
    if (!canvas) throw new Error(`timeline: no canvas for ${name}`);
    return canvas;
  }

  private setX(chart: { options: object }, window: { min: number; max: number }): void {
    const x = (chart.options as { scales?: { x?: { min?: number; max?: number } } }).scales?.x;
    if (x) {
      x.min = window.min;
      x.max = window.max;
    }
  }

  /** Fires onWindow when the user moved a chart; the others follow at once. */
  private userMoved(chart: Chart, live: boolean): void {
    if (this.syncing) return;
    const x = chart.scales.x;
    if (!x) return;
    const window = { min: x.min, max: x.max };
    this.syncing = true;
    try {
      for (const other of this.all()) {
        if (other === chart) continue;
        this.setX(other, window);
        other.update('none');
      }
    } finally {
      this.syncing = false;
    }
    this.events.onWindow(window, live);
  }

  private common(): Pick<ChartConfiguration['options'] & object, 'animation' | 'responsive' | 'maintainAspectRatio' | 'events'> {
    return { animation: false, responsive: true, maintainAspectRatio: false, events: ['mousemove', 'mouseout', 'click'] };
  }

  /** The time axis; its labels show under the callbacks and the bottom chart only, to save height. */
  private xScale(labelled: boolean): NonNullable<ChartConfiguration<'line'>['options']>['scales'] {
    const theme = this.theme;
    return {
      x: {
        type: 'linear',
        ticks: { display: labelled, color: theme.foreground, maxRotation: 0, callback: (value) => formatAxisTime(Number(value)) },
        grid: { color: theme.grid },
      },
    };
  }

  private zoomOptions() {
    const moved = ({ chart }: { chart: Chart }): void => this.userMoved(chart, false);
    const moving = ({ chart }: { chart: Chart }): void => this.userMoved(chart, true);
    return {
      zoom: { mode: 'x' as const, wheel: { enabled: true, speed: 0.2 }, pinch: { enabled: true }, onZoom: moving, onZoomComplete: moved },
      pan: { enabled: true, mode: 'x' as const, threshold: 5, onPan: moving, onPanComplete: moved },
    };
  }

  /** Per bar colours as arrays: chart.js resolves arrays much faster than a function called per bar. */
  private barColours(bars: readonly CallbackBar[]): { fill: string[]; border: number[] } {
    const { normal, levels } = this.theme.severity;
    const bright = [normal, ...levels];
    const dim = bright.map((c) => color(c).alpha(0.2).rgbString());
    return {
      fill: bars.map((bar) => (bar.highlighted === false ? dim : bright)[bar.level + 1] ?? normal),
      border: bars.map((bar) => (bar.highlighted ? 1 : 0)),
    };
  }

  private barConfig(): ChartConfiguration<'bar', CallbackBar[], string> {
    const theme = this.theme;
    return {
      type: 'bar',
      data: {
        labels: [],
        datasets: [
          {
            label: 'callbacks',
            data: [],
            borderColor: theme.foreground,
            borderSkipped: false,
            minBarLength: 2,
            barPercentage: 1,
            categoryPercentage: 0.8,
            grouped: false,
          },
        ],
      },
      options: {
        ...this.common(),
        indexAxis: 'y',
        scales: {
          ...this.xScale(true),
          y: {
            type: 'category',
            ticks: { color: theme.foreground, autoSkip: false },
            grid: { color: theme.grid },
            afterFit: fixWidth,
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: () => '',
              label: (item: TooltipItem<'bar'>) => describeBar(item.raw as CallbackBar, this.model?.originWallNs),
            },
          },
          zoom: this.zoomOptions(),
        },
        onClick: (_event, elements) => {
          const hit = elements[0];
          const bar = hit ? this.callbacks.data.datasets[hit.datasetIndex]?.data[hit.index] : undefined;
          if (bar) this.events.onOpen(bar);
        },
        onHover: (event, elements) => {
          const target = event.native?.target;
          if (target instanceof HTMLElement) target.style.cursor = elements.length ? 'pointer' : 'default';
        },
      },
    };
  }

  private lineConfig(yMax: number | undefined, labelled: boolean): ChartConfiguration<'line', { x: number; y: number }[]> {
    const theme = this.theme;
    return {
      type: 'line',
      data: { datasets: [] },
      options: {
        ...this.common(),
        parsing: false,
        normalized: true,
        spanGaps: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1.5 } },
        scales: {
          ...this.xScale(labelled),
          y: { type: 'linear', beginAtZero: true, suggestedMax: yMax, ticks: { color: theme.foreground, maxTicksLimit: 4 }, grid: { color: theme.grid }, afterFit: fixWidth },
        },
        plugins: {
          legend: { display: true, position: 'top', align: 'end', labels: { color: theme.foreground, boxWidth: 10, boxHeight: 2 } },
          tooltip: { callbacks: { title: (items) => formatAxisTime(items[0]?.parsed.x ?? 0) } },
          zoom: this.zoomOptions(),
        },
      },
    };
  }

  private lineDatasets(series: Series[]): ChartDataset<'line', { x: number; y: number }[]>[] {
    const keys = [...new Set(series.map((s) => s.key))];
    const sessions = [...new Set(series.map((s) => s.sessionId))];
    return series.map((s) => {
      const colour = this.theme.series[(keys.indexOf(s.key) + sessions.indexOf(s.sessionId) * keys.length) % this.theme.series.length] ?? this.theme.foreground;
      // Sparse samples show as dots too, so a line between two of them is not taken for a measurement.
      const pointRadius = s.points.length < 100 ? 2 : 0;
      return { label: s.label, data: s.points, borderColor: colour, backgroundColor: colour, pointRadius, stepped: s.key === 'busy' ? 'middle' : false };
    });
  }

  private applyTheme(chart: Chart): void {
    const { scales, plugins } = chart.options;
    for (const scale of Object.values(scales ?? {})) {
      if (!scale) continue;
      if (scale.ticks) scale.ticks.color = this.theme.foreground;
      if (scale.grid) scale.grid.color = this.theme.grid;
    }
    if (plugins?.legend?.labels) plugins.legend.labels.color = this.theme.foreground;
  }

  /** What the charts hold, on their sections' data attributes (screen readers' labels, the tests), and the bars in view longest first. */
  private describe(model: TimelineModel, window: { min: number; max: number }): void {
    this.longestFirst = model.callbacks
      .filter((bar) => bar.x[1] >= window.min && bar.x[0] <= window.max)
      .sort((a, b) => b.durationNs - a.durationNs);
    for (const name of ORDER) {
      const section = this.sections.get(name);
      if (!section) continue;
      const chart = name === 'callbacks' ? (this.callbacks as unknown as Chart) : (this.lines.get(name) as unknown as Chart);
      section.dataset.points = String(chart.data.datasets.reduce((sum, d) => sum + d.data.length, 0));
      section.dataset.labels = chart.data.datasets.map((d) => d.label ?? '').join('|');
      section.dataset.xMin = window.min.toFixed(3);
      section.dataset.xMax = window.max.toFixed(3);
    }
    const section = this.sections.get('callbacks');
    if (section) {
      section.dataset.lanes = model.lanes.join('|');
      section.dataset.binned = String(model.binned);
      const slowest = this.longestFirst[0];
      this.publishBar(section, 'slowest', slowest);
      this.publishBar(section, 'highlighted', this.longestFirst.find((bar) => bar.highlighted));
      this.callbacks.canvas.setAttribute('aria-label', callbacksLabel(model, slowest));
    }
  }

  /**
   * Where a bar is drawn (the canvas' CSS pixels), its handler and duration, as `data-<prefix>-*` attributes
   * of the section: the tests click there.
   */
  private publishBar(section: HTMLElement, prefix: string, bar: CallbackBar | undefined): void {
    const element = bar ? this.elementOf(bar) : undefined;
    const fields = { X: element?.x.toFixed(1), Y: element?.y.toFixed(1), Ms: bar && (bar.durationNs / 1e6).toFixed(1),
      Handler: bar?.handler && `${bar.handler.name} ${bar.handler.file}:${bar.handler.line}` };
    for (const [field, value] of Object.entries(fields)) {
      if (element && value !== undefined) section.dataset[`${prefix}${field}`] = value;
      else delete section.dataset[`${prefix}${field}`];
    }
  }

  /** The centre of a bar's drawn rectangle, clamped to the plot area (a bar may start before the window). */
  private elementOf(bar: CallbackBar): { x: number; y: number } | undefined {
    const index = this.callbacks.data.datasets[0]?.data.indexOf(bar) ?? -1;
    const element = this.callbacks.getDatasetMeta(0).data[index] as unknown as { x: number; y: number; base: number } | undefined;
    const area = this.callbacks.chartArea;
    if (!element || !area) return undefined;
    const left = Math.max(area.left, Math.min(element.base, element.x));
    const right = Math.min(area.right, Math.max(element.base, element.x));
    return { x: (left + right) / 2, y: element.y };
  }
}

function fixWidth(scale: Scale): void {
  scale.width = Y_AXIS_WIDTH;
}

function callbacksLabel(model: TimelineModel, slowest: CallbackBar | undefined): string {
  const what = model.binned ? `${model.callbacks.length} bins of callbacks` : `${model.callbacks.length} callbacks`;
  const worst = slowest?.handler ? `; the longest in view: ${slowest.handler.name}, ${formatMs(slowest.durationNs / 1e6)}` : '';
  return `Callbacks on lanes by kind: ${what}${worst}. Arrow keys pan, plus and minus zoom, Enter opens the longest.`;
}
