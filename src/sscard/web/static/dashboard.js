// Draws each dashboard chart from the JSON in its data-chart attribute (no inline scripts: see the CSP).
// Counts and yuan go on separate axes (left: counts, right: yuan); a series in yuan is drawn as a line.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof echarts === "undefined") { return; }
  var styles = getComputedStyle(document.documentElement);
  var palette = ["--c-primary", "--c-ok", "--c-warn", "--c-danger"].map(function (name) {
    return styles.getPropertyValue(name).trim() || "#0b5cad";
  });
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var names = spec.axes || [];
    var refMax = spec.reference.reduce(function (m, r) { return Math.max(m, r.value); }, 0);
    var series = spec.series.map(function (s, i) {
      var onYuan = s.axis === 1;
      var out = { name: s.name, type: (onYuan || spec.kind === "line") ? "line" : "bar", yAxisIndex: onYuan ? 1 : 0, data: s.data };
      if (i === 0 && spec.reference.length) {
        out.markLine = { symbol: "none", lineStyle: { type: "dashed", width: 2, color: palette[3] },
          label: { position: "insideEndTop", formatter: "{b}: {c}" + (spec.unit || "") },
          data: spec.reference.map(function (r) { return { name: r.name, yAxis: r.value }; }) };
      }
      return out;
    });
    var yAxes = [{ type: "value", name: names[0] || "", nameTextStyle: { align: "left" },
      axisLabel: { formatter: "{value}" + (spec.unit || "") },
      // Reference lines (targets) stay visible even when the figures are still far below them.
      max: function (extent) { return Math.max(extent.max, refMax * 1.1); } }];
    if (names.length > 1) {
      yAxes.push({ type: "value", name: names[1], position: "right", splitLine: { show: false } });
    }
    chart.setOption({
      animation: false,
      color: palette,
      textStyle: { fontFamily: styles.getPropertyValue("--font").trim() || "sans-serif" },
      tooltip: { trigger: "axis" },
      legend: { show: spec.series.length > 1, top: 0 },
      // containLabel: the long (English) category labels are measured, never cut off.
      grid: { left: 16, right: 16, top: 48, bottom: 16, containLabel: true },
      xAxis: { type: "category", data: spec.categories,
        axisLabel: { interval: 0, rotate: spec.categories.length > 4 ? 30 : 0, width: 120, overflow: "break" } },
      yAxis: yAxes,
      series: series
    });
    el.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
