// Draws each dashboard chart from the JSON in its data-chart attribute (no inline scripts: see the CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof echarts === "undefined") { return; }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = echarts.init(el, null, { renderer: "canvas" });
    var refMax = spec.reference.reduce(function (m, r) { return Math.max(m, r.value); }, 0);
    var series = spec.series.map(function (s, i) {
      var out = { name: s.name, type: "bar", data: s.data };
      if (i === 0 && spec.reference.length) {
        out.markLine = { symbol: "none", label: { position: "insideEndTop", formatter: "{b}: {c}" },
          data: spec.reference.map(function (r) { return { name: r.name, yAxis: r.value }; }) };
      }
      return out;
    });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { show: spec.series.length > 1, top: 0 },
      grid: { left: 70, right: 20, top: (spec.series.length > 1 || spec.reference.length) ? 30 : 10, bottom: 80 },
      xAxis: { type: "category", data: spec.categories, axisLabel: { interval: 0, rotate: 30 } },
      // Reference lines (targets) stay visible even when the figures are still far below them.
      yAxis: { type: "value", max: function (extent) { return Math.max(extent.max, refMax); } },
      series: series
    });
    el.setAttribute("data-rendered", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
