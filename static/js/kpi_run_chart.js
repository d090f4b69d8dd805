// The KPI page's monthly run chart (templates/quality/kpi_page.html): the indicator chosen in
// the select, one point per month of the period (a gap where a month has no value), with the
// 50 % and 80 % levels as dashed lines. The data come from a json_script element; no inline
// script, no CDN (the strict CSP). The table under the chart carries the same numbers.
(function () {
  "use strict";

  var LINE = "#0a3a82";
  var REFERENCE = { 50: "#b02a37", 80: "#1b6e35" };

  function datasets(data, key) {
    var kpi = data.kpis.filter(function (k) { return k.key === key; })[0] || data.kpis[0];
    if (!kpi) {
      return [];
    }
    var sets = [{
      label: kpi.label,
      data: kpi.values,
      borderColor: LINE,
      backgroundColor: LINE,
      pointRadius: 4,
      spanGaps: false,
      tension: 0
    }];
    data.references.forEach(function (level) {
      sets.push({
        label: level + " % level",
        data: data.months.map(function () { return level; }),
        borderColor: REFERENCE[level] || "#6c757d",
        borderDash: [6, 4],
        borderWidth: 1,
        pointRadius: 0,
        pointHitRadius: 0
      });
    });
    return sets;
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-kpi-run-chart"));
    if (canvas.getAttribute("data-drawn") || !source || !window.Chart) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var select = document.querySelector("[data-kpi-run-chart-select='" + canvas.id + "']");
    var chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: data.months, datasets: datasets(data, select ? select.value : "") },
      options: {
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { title: { display: true, text: "Month of the index fracture (YYYY-MM)" } },
          y: {
            min: 0,
            max: 100,
            title: { display: true, text: "Value (%)" },
            ticks: { callback: function (value) { return value + " %"; } }
          }
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.raw === null ? item.dataset.label + ": no value"
                  : item.dataset.label + ": " + Number(item.raw).toFixed(1) + " %";
              }
            }
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "1");
    canvas.setAttribute("data-kpi", select ? select.value : "");
    if (select) {
      select.addEventListener("change", function () {
        chart.data.datasets = datasets(data, select.value);
        chart.update();
        canvas.setAttribute("data-kpi", select.value);
      });
    }
  }

  function init() {
    document.querySelectorAll("canvas[data-kpi-run-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
