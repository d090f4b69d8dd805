// The BMD trend chart (templates/monitoring/_bmd_trend.html): one line per site, significant
// changes drawn as larger outlined points, a dashed segment between scans from different
// scanners (not comparable), therapy courses shaded behind the lines by a small plugin. The data come from a json_script element; no inline script, no CDN. The table under
// the chart carries the same numbers in words.
(function () {
  "use strict";

  var DAY_MS = 86400000;
  var SITE_STYLE = {
    lumbar_spine: { color: "#0a3a82", point: "circle" },
    femoral_neck: { color: "#a04a00", point: "rectRot" },
    total_hip: { color: "#1b6e35", point: "triangle" }
  };
  var COURSE_FILLS = [
    "rgba(13, 110, 253, 0.10)",
    "rgba(255, 193, 7, 0.18)",
    "rgba(25, 135, 84, 0.12)",
    "rgba(111, 66, 193, 0.12)"
  ];

  function isoDate(day) {
    return new Date(Math.round(day) * DAY_MS).toISOString().slice(0, 10);
  }

  // Courses as rectangles from their start to their end (ongoing: today), behind the lines.
  var courseShading = {
    id: "courseShading",
    beforeDatasetsDraw: function (chart, args, options) {
      var area = chart.chartArea;
      var x = chart.scales.x;
      var ctx = chart.ctx;
      (options.courses || []).forEach(function (course, i) {
        var left = Math.max(x.getPixelForValue(course.start), area.left);
        var right = Math.min(x.getPixelForValue(course.end), area.right);
        if (right <= left) {
          return;
        }
        ctx.save();
        ctx.fillStyle = COURSE_FILLS[i % COURSE_FILLS.length];
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
        ctx.fillStyle = "#212529";
        ctx.font = "12px system-ui, sans-serif";
        ctx.textBaseline = "top";
        ctx.fillText(course.label, left + 4, area.top + 4 + (i % 3) * 14);
        ctx.restore();
      });
    }
  };

  // Ticks on 1 January, every year or every few years, so that the axis reads as a calendar.
  function yearTicks(axis) {
    var first = new Date(axis.min * DAY_MS).getUTCFullYear() + 1;
    var last = new Date(axis.max * DAY_MS).getUTCFullYear();
    var step = Math.max(1, Math.ceil((last - first + 1) / 8));
    var ticks = [];
    for (var year = first; year <= last; year += step) {
      ticks.push({ value: Date.UTC(year, 0, 1) / DAY_MS });
    }
    if (ticks.length) {
      axis.ticks = ticks;
    }
  }

  function bigIfSignificant(points, big, small) {
    return points.map(function (p) { return p.is_significant ? big : small; });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-bmd-trend"));
    if (canvas.getAttribute("data-drawn") || !source || !window.Chart) {
      return;
    }
    canvas.setAttribute("data-drawn", "1");
    var data = JSON.parse(source.textContent);
    var xs = [];
    data.sites.forEach(function (site) {
      site.points.forEach(function (p) { xs.push(p.x); });
    });
    var min = Math.min.apply(null, xs);
    var max = Math.max.apply(null, xs);
    var pad = Math.max(30, (max - min) * 0.05);

    new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: data.sites.map(function (site) {
          var style = SITE_STYLE[site.site] || { color: "#495057", point: "circle" };
          return {
            label: site.label,
            data: site.points,
            parsing: { xAxisKey: "x", yAxisKey: "y" },
            borderColor: style.color,
            backgroundColor: style.color,
            pointStyle: style.point,
            pointRadius: bigIfSignificant(site.points, 7, 4),
            pointBorderWidth: bigIfSignificant(site.points, 3, 1),
            pointBorderColor: bigIfSignificant(site.points, "#000", style.color),
            // The segment into a scan from another scanner than the one before: dashed.
            segment: {
              borderDash: function (ctx) {
                var point = site.points[ctx.p1DataIndex];
                return point && point.is_comparable === false ? [6, 4] : undefined;
              }
            },
            tension: 0
          };
        })
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "linear",
            min: min - pad,
            max: max + pad,
            title: { display: true, text: "Scan date (YYYY-MM-DD)" },
            afterBuildTicks: yearTicks,
            ticks: { callback: function (value) { return isoDate(value); } }
          },
          y: {
            title: { display: true, text: "BMD (g/cm²)" },
            ticks: { callback: function (value) { return Number(value).toFixed(3); } }
          }
        },
        plugins: {
          courseShading: { courses: data.courses },
          legend: { labels: { usePointStyle: true } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? items[0].raw.date : ""; },
              label: function (item) {
                return item.dataset.label + ": " + item.raw.y.toFixed(3) + " g/cm²";
              },
              afterLabel: function (item) {
                var lines = [];
                if (item.raw.scanner) { lines.push("scanner: " + item.raw.scanner); }
                if (item.raw.previous) { lines.push("from previous: " + item.raw.previous); }
                if (item.raw.baseline) { lines.push("from baseline: " + item.raw.baseline); }
                return lines;
              }
            }
          }
        }
      },
      plugins: [courseShading]
    });
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll("canvas[data-bmd-trend]").forEach(draw);
  }

  // htmx calls back for the page and for every piece of content it swaps in (the trend is
  // loaded into the patient page that way).
  if (window.htmx) {
    window.htmx.onLoad(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
