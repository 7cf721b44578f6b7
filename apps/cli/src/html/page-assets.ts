/** Verdict colours, shared by the page's CSS and its charts. */
export const VERDICT_COLORS = { pass: "#15803d", warn: "#d97706", fail: "#dc2626" } as const;

/** Diverging palette (RdYlBu, reversed): small errors cool blue, large ones deep red. */
export const HEATMAP_PALETTE = ["#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026"];

/** Cells without a value (not checked, or on a ReLU kink) show the plot background. */
export const MISSING_CELL_COLOR = "#c9ced6";

export const PAGE_CSS = `
:root {
  --ink: #1f2430; --muted: #5b6475; --faint: #8a93a3; --line: #e3e6ec; --paper: #ffffff; --ground: #f3f5f8;
  --pass: ${VERDICT_COLORS.pass}; --warn: ${VERDICT_COLORS.warn}; --fail: ${VERDICT_COLORS.fail};
  --pass-bg: #ecfdf3; --warn-bg: #fff8eb; --fail-bg: #fef1f1;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--ground); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Liberation Sans", sans-serif;
}
.page { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
.mono, code, td.num, .coord { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
.masthead { display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between; gap: 12px 32px; margin-bottom: 18px; }
.brand { font-size: 12px; letter-spacing: .12em; text-transform: uppercase; color: var(--faint); font-weight: 600; }
h1 { margin: 2px 0 0; font-size: 28px; line-height: 1.2; font-weight: 700; word-break: break-word; }
h2 { margin: 0 0 4px; font-size: 18px; font-weight: 650; }
.lead { margin: 0 0 14px; color: var(--muted); font-size: 14px; }
.basis { flex-basis: 100%; margin: 4px 0 0; color: var(--muted); font-size: 13px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 26px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing: .08em; color: var(--faint); font-weight: 600; }
.facts dd { margin: 0; font-size: 15px; font-weight: 550; font-variant-numeric: tabular-nums; }
.verdict {
  display: flex; flex-wrap: wrap; align-items: center; gap: 10px 28px; padding: 18px 24px; margin-bottom: 18px;
  border-radius: 12px; border: 1px solid var(--line); border-left: 8px solid var(--accent); background: var(--tint);
}
.verdict-pass { --accent: var(--pass); --tint: var(--pass-bg); }
.verdict-warn { --accent: var(--warn); --tint: var(--warn-bg); }
.verdict-fail { --accent: var(--fail); --tint: var(--fail-bg); }
.verdict-word { font-size: 44px; line-height: 1; font-weight: 800; letter-spacing: .04em; color: var(--accent); }
.verdict-figure { font-size: 15px; color: var(--muted); }
.verdict-figure strong { display: block; font-size: 26px; line-height: 1.2; color: var(--ink); font-variant-numeric: tabular-nums; }
.thresholds { display: flex; flex-wrap: wrap; gap: 6px 8px; margin-left: auto; }
.threshold { font-size: 13px; padding: 3px 10px; border-radius: 999px; background: var(--paper); border: 1px solid var(--line); color: var(--muted); }
.threshold b { font-weight: 650; }
.threshold.t-pass b { color: var(--pass); } .threshold.t-warn b { color: var(--warn); } .threshold.t-fail b { color: var(--fail); }
.card { background: var(--paper); border: 1px solid var(--line); border-radius: 12px; padding: 20px 24px; margin-bottom: 18px; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.chart { width: 100%; height: 340px; }
figure { margin: 0 0 22px; }
figure:last-child { margin-bottom: 0; }
figure h3 { margin: 0 0 2px; font-size: 15px; font-weight: 650; display: flex; align-items: center; gap: 10px; }
figcaption { margin-top: 4px; font-size: 13px; color: var(--muted); }
.tag {
  display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: 12px; font-weight: 600; line-height: 1.6;
  background: #eef1f6; color: #394150; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
}
.tag.pass { background: var(--pass-bg); color: var(--pass); } .tag.warn { background: var(--warn-bg); color: #b45309; } .tag.fail { background: var(--fail-bg); color: var(--fail); }
.findings { list-style: none; margin: 0; padding: 0; }
.finding { padding: 14px 16px; border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 8px; margin-top: 10px; }
.finding-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin-bottom: 6px; }
.finding-tensors { font-size: 13px; color: var(--muted); }
.finding p { margin: 0 0 8px; font-size: 15px; }
.evidence { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 13px; }
.evidence dt { color: var(--faint); }
.evidence dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; word-break: break-word; }
.all-clear { margin: 0; padding: 12px 16px; border-radius: 8px; background: var(--pass-bg); color: var(--pass); font-weight: 550; }
.muted { color: var(--muted); margin: 0; }
.warnings { list-style: none; margin: 0; padding: 0; }
.warnings li { display: flex; gap: 12px; align-items: baseline; padding: 8px 0; border-top: 1px solid var(--line); }
.warnings li:first-child { border-top: 0; padding-top: 2px; }
.warnings .tag { flex: none; background: var(--warn-bg); color: #b45309; }
table { width: 100%; border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
th { text-align: left; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--faint); padding: 8px 10px; border-bottom: 1px solid var(--line); }
td { padding: 7px 10px; border-bottom: 1px solid #f0f2f5; }
tr:last-child td { border-bottom: 0; }
th.num, td.num { text-align: right; white-space: nowrap; }
td.num { font-size: 13px; }
.coord { font-weight: 600; }
.table-wrap { overflow-x: auto; margin-top: 10px; }
footer { margin-top: 8px; font-size: 12px; color: var(--faint); text-align: center; }
@media print { body { background: #fff; } .card { box-shadow: none; break-inside: avoid; } }
`;

/**
 * The page's own script: plain browser JavaScript (no build step), run after ECharts. It
 * reads the data element, draws every chart, and sets document.body.dataset.rendered to
 * "true" once each chart has fired ECharts' "finished" event.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  "use strict";
  var body = document.body;
  try {
    var data = JSON.parse(document.getElementById("gradcheck-data").textContent);
    var FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
    var INK = "#1f2430", MUTED = "#5b6475", LINE = "#e3e6ec";

    // Heatmaps always paint on an incremental canvas layer, which zrender spreads over several
    // frames (15 ms each, timed with this clock), after ECharts has already fired "finished".
    // A clock that stands still makes every paint complete within the frame that starts it, so
    // "finished" means painted. Only the painter's time budget reads it; animations (off here
    // anyway) keep their own clock.
    echarts.setPlatformAPI({ getTime: function () { return 0; } });

    var SUPERSCRIPT = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹" };
    function power(e) {
      return "10" + String(e).split("").map(function (c) { return SUPERSCRIPT[c] || c; }).join("");
    }
    function exponent(value) {
      return power(Math.round(Math.log(value) / Math.LN10));
    }
    function short(value) {
      if (value === 0) return "0";
      var m = Math.abs(value);
      return m >= 1e-3 && m < 1e4 ? String(Number(value.toPrecision(3))) : value.toExponential(1);
    }
    function esc(text) {
      return String(text).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    }
    function span(start, block, limit) {
      var first = start * block, last = Math.min(first + block, limit) - 1;
      return first === last ? String(first) : first + "\u2013" + last;
    }

    var jobs = [];

    // Relative difference per tensor: log-scale bars, coloured by verdict, thresholds as lines.
    var t = data.tensors;
    if (t) {
      jobs.push({
        id: "chart-tensors",
        option: {
          animation: false,
          textStyle: { fontFamily: FONT, color: INK },
          grid: { left: 72, right: 120, top: 28, bottom: t.names.length > 12 ? 72 : 44 },
          tooltip: {
            trigger: "item",
            formatter: function (p) {
              var i = p.dataIndex;
              return "<b>" + esc(t.names[i]) + "</b><br>relative difference " + (t.zero[i] ? "0" : short(t.values[i])) +
                "<br>verdict " + esc(t.verdicts[i]);
            }
          },
          xAxis: {
            type: "category", data: t.names,
            axisLabel: { color: INK, fontWeight: 600, interval: 0, rotate: t.names.length > 12 ? 40 : 0 },
            axisLine: { lineStyle: { color: "#aab1bd" } }, axisTick: { show: false }
          },
          yAxis: {
            type: "log", min: t.yMin, max: t.yMax, startValue: t.yMin, logBase: 10, interval: t.yStep,
            name: "relative difference", nameLocation: "middle", nameGap: 52, nameTextStyle: { color: MUTED },
            axisLabel: { color: MUTED, formatter: exponent, showMinLabel: true, showMaxLabel: true },
            splitLine: { lineStyle: { color: LINE } }
          },
          series: [{
            type: "bar", barMaxWidth: 56,
            data: t.values.map(function (v, i) {
              return { value: v, itemStyle: { color: data.colors[t.verdicts[i]], borderRadius: [3, 3, 0, 0] } };
            }),
            label: {
              show: true, position: "top", color: INK, fontSize: 11,
              formatter: function (p) { return t.zero[p.dataIndex] ? "0" : short(p.value); }
            },
            markLine: {
              // precision: markLine rounds its value to 2 decimals by default, which turns 1e-7 into 0.
              silent: true, symbol: "none", precision: 20,
              data: [
                { yAxis: data.thresholds.pass, lineStyle: { color: data.colors.pass, type: "dashed", width: 1.5 },
                  label: { formatter: "pass \u2264 " + data.thresholdLabels.pass, color: data.colors.pass, position: "end" } },
                { yAxis: data.thresholds.warn, lineStyle: { color: data.colors.warn, type: "dashed", width: 1.5 },
                  label: { formatter: "warn \u2264 " + data.thresholdLabels.warn, color: data.colors.warn, position: "end" } }
              ]
            }
          }]
        }
      });
    }

    // Per-coordinate error maps: log10 of the relative error, max-pooled into blocks.
    (data.heatmaps || []).forEach(function (h) {
      var cells = [];
      for (var y = 0; y < h.rows; y++) {
        for (var x = 0; x < h.columns; x++) {
          var v = h.values[y * h.columns + x];
          if (v !== null) cells.push([x, y, v]);
        }
      }
      var xLabels = [], yLabels = [];
      for (var c = 0; c < h.columns; c++) xLabels.push(span(c, h.columnBlock, h.sourceColumns));
      for (var r = 0; r < h.rows; r++) yLabels.push(span(r, h.rowBlock, h.sourceRows));
      var left = 86, top = h.plotTop;
      jobs.push({
        id: h.id,
        option: {
          animation: false,
          textStyle: { fontFamily: FONT, color: INK },
          grid: { left: left, top: top, width: h.plotWidth, height: h.plotHeight, show: true, backgroundColor: data.missingColor, borderWidth: 0 },
          tooltip: {
            trigger: "item",
            formatter: function (p) {
              var d = p.data;
              return "<b>" + esc(h.name) + "</b> rows " + yLabels[d[1]] + ", columns " + xLabels[d[0]] +
                "<br>" + (h.downsampled ? "largest " : "") + "relative error " + short(Math.pow(10, d[2]));
            }
          },
          xAxis: {
            type: "category", data: xLabels, position: "bottom",
            name: "column (input unit)", nameLocation: "middle", nameGap: 30, nameTextStyle: { color: MUTED },
            axisLabel: { color: MUTED, fontSize: 11, hideOverlap: true }, axisTick: { show: false },
            axisLine: { show: false }, splitArea: { show: false }
          },
          yAxis: {
            type: "category", data: yLabels, inverse: true,
            name: "row (output unit)", nameLocation: "middle", nameGap: 62, nameTextStyle: { color: MUTED },
            axisLabel: { color: MUTED, fontSize: 11, hideOverlap: true }, axisTick: { show: false },
            axisLine: { show: false }, splitArea: { show: false }
          },
          visualMap: {
            type: "continuous", dimension: 2, min: data.heatmapRange.min, max: data.heatmapRange.max,
            calculable: false, orient: "vertical",
            left: left + h.plotWidth + 20, top: top + 20, itemHeight: Math.max(60, Math.min(h.plotHeight - 56, 240)), itemWidth: 12,
            text: [power(data.heatmapRange.max), power(data.heatmapRange.min)], textGap: 6,
            textStyle: { color: MUTED, fontSize: 11 },
            inRange: { color: data.palette }
          },
          graphic: [{
            type: "text", left: left + h.plotWidth + 14, top: top,
            style: { text: "rel. error", fill: MUTED, font: "600 11px " + FONT }
          }],
          series: [{
            type: "heatmap", data: cells, progressive: 0, animation: false,
            emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } }
          }]
        }
      });
    });

    var remaining = jobs.length;
    var finished = {};
    function markFinished(id) {
      if (finished[id]) return;
      finished[id] = true;
      remaining -= 1;
      if (remaining === 0) body.dataset.rendered = "true";
    }
    if (remaining === 0) body.dataset.rendered = "true";
    var charts = jobs.map(function (job) {
      var chart = echarts.init(document.getElementById(job.id), null, { renderer: "canvas" });
      chart.on("finished", function () { markFinished(job.id); });
      chart.setOption(job.option);
      return chart;
    });
    // Re-lay out a chart only when its container changed size: a full-page screenshot resizes
    // the window's height, which must not trigger a repaint.
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) {
        var element = chart.getDom();
        if (element.clientWidth !== chart.getWidth() || element.clientHeight !== chart.getHeight()) chart.resize();
      });
    });
  } catch (error) {
    body.dataset.renderError = String(error && error.stack || error);
    throw error;
  }
})();
`;
