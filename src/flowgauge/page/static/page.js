/* flowgauge page: renders the view model (GET api/view, see flowgauge/view/model.py).
 *
 * Live (the worker's `/`): polls api/view every few seconds and updates in place: the map and
 * figures are swapped in one step, charts go through Plotly.react, so nothing flickers.
 * Report (`flowgauge report --format html`): the model, and with --compare the baseline, are
 * embedded in the page as JSON; it renders once and fetches nothing.
 *
 * Every number on the page carries data-sample (the Prometheus sample it shows, as written by
 * /metrics with its labels sorted) and data-value (the raw value), so tests can hold the page
 * against /metrics.
 */
(function () {
  "use strict";
  var POLL_MS = 3000;
  var KINDS = ["active", "wait", "blocked"];
  var Q = ["0.5", "0.85", "0.95"];
  var COLORS = { active: "#2f7d4f", wait: "#c9a227", blocked: "#c0392b" };
  var embedded = document.getElementById("flowgauge-view");
  var compare = document.getElementById("flowgauge-compare");
  var baseline = compare ? JSON.parse(compare.textContent) : {};
  var plotted = {};

  /* round(x, 1) as Python does it: the nearest tenth of the exact value, ties to even. */
  function round1(x) {
    var t = x * 10;
    if (Number.isInteger(x * 4) && Math.abs(t % 1) === 0.5) {
      var f = Math.floor(t);
      return (f % 2 === 0 ? f : f + 1) / 10;
    }
    return Number(x.toFixed(1));
  }

  /* flowgauge.stream.alerts.duration: "4.6 days", "1 day", "5.5 hours", "12 minutes". */
  function duration(s) {
    if (s === null || s === undefined) { return "-"; }
    var units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(s) >= units[i][1] || units[i][0] === "minute") {
        var v = round1(s / units[i][1]);
        return String(v) + " " + units[i][0] + (v === 1 ? "" : "s");
      }
    }
    return "-";
  }
  function pct(r) { return r === null || r === undefined ? "-" : Math.round(r * 100) + "%"; }
  function count(n) { return n === null || n === undefined ? "-" : String(n); }
  function perDay(n) { return n === null || n === undefined ? "-" : n.toFixed(2); }

  function key(name, labels) {
    var names = Object.keys(labels).sort();
    return "flowgauge_" + name + "{" + names.map(function (k) {
      return k + '="' + labels[k] + '"';
    }).join(",") + "}";
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  /* One shown number: text, its sample and raw value, and the baseline when comparing. */
  function num(sample, value, fmt, suffix) {
    var node = el("span", "v", fmt(value));
    if (suffix) { node.appendChild(el("span", "suffix", suffix)); }
    node.setAttribute("data-sample", sample);
    node.setAttribute("data-value", value === null || value === undefined ? "" : String(value));
    var before = baseline[sample];
    if (before) {
      var was = el("span", "was " + before.change, "was " + fmt(before.baseline) +
        (before.change === "same" ? "" : " (" + before.change + ")"));
      node.appendChild(was);
    }
    return node;
  }

  function figure(label, nodes) {
    var box = el("div", "figure");
    box.appendChild(el("div", "label", label));
    nodes.forEach(function (n) { box.appendChild(n); });
    return box;
  }

  function figures(s) {
    var f = s.figures, at = { stream: s.name }, box = el("div", "figures");
    function qs(name, values) {
      return ["0.5", "0.85"].map(function (q) {
        return num(key(name, { stream: s.name, quantile: q }), values[q], duration);
      });
    }
    box.appendChild(figure("lead time p50 / p85", qs("lead_time_seconds", f.lead_time)));
    box.appendChild(figure("cycle time p50 / p85", qs("cycle_time_seconds", f.cycle_time)));
    box.appendChild(figure("throughput (window)", [num(key("throughput_items", at), f.throughput, count)]));
    box.appendChild(figure("flow efficiency", [num(key("flow_efficiency_ratio", at), f.flow_efficiency, pct)]));
    box.appendChild(figure("WIP", [num("sum:" + key("wip_items", at), f.wip, count)]));
    box.appendChild(figure("blocked", [num("sum:" + key("blocked_items", at), f.blocked, count)]));
    box.appendChild(figure("SLE breaches", [num("sum:" + key("sle_breach_items", at), f.sle_breaches, count)]));
    box.appendChild(figure("rework / defects", [
      num(key("rework_ratio", at), f.rework_ratio, pct),
      num(key("defect_ratio", at), f.defect_ratio, pct)]));
    return box;
  }

  function stageBox(s, g) {
    var at = { stream: s.name, stage: g.name };
    var box = el("div", "stage" + (g.done ? " done" : "") + (g.bottleneck ? " bottleneck" : "") +
      (g.wip_limit !== null && g.wip > g.wip_limit ? " over" : ""));
    box.setAttribute("data-stage", g.name);
    if (g.bottleneck) { box.appendChild(el("span", "flag", "bottleneck")); }
    var title = el("h3", null, g.name + " ");
    title.appendChild(el("small", null, g.kind));
    box.appendChild(title);
    var dl = el("dl");
    function row(label, node) { dl.appendChild(el("dt", null, label)); var dd = el("dd"); dd.appendChild(node); dl.appendChild(dd); }
    if (g.done) {
      var done = s.figures.throughput;
      row("completed (window)", num(key("throughput_items", { stream: s.name }), done, count));
    } else {
      var wip = el("span", "wip");
      wip.appendChild(num(key("wip_items", at), g.wip, count,
        g.wip_limit === null ? "" : " / " + g.wip_limit));
      row(g.wip_limit === null ? "WIP" : "WIP / limit", wip);
      row("age p85", num(key("work_item_age_seconds", Object.assign({ quantile: "0.85" }, at)), g.age_p85, duration));
      row("oldest", num(key("work_item_age_seconds", Object.assign({ quantile: "1" }, at)), g.age_oldest, duration));
      row("time in stage p85", num(key("stage_time_seconds", Object.assign({ quantile: "0.85" }, at)), g.time_in_stage["0.85"], duration));
      row("blocked now", num(key("blocked_items", at), g.blocked, count));
    }
    box.appendChild(dl);
    if (!g.done) {
      var bar = el("div", "split");
      bar.title = KINDS.map(function (k) { return k + " " + pct(g.share[k]); }).join(", ");
      KINDS.forEach(function (k) {
        var part = el("div", k);
        part.style.width = ((g.share[k] || 0) * 100) + "%";
        part.setAttribute("data-sample", key("stage_seconds", Object.assign({ kind: k }, at)));
        part.setAttribute("data-value", String(g.seconds[k]));
        bar.appendChild(part);
      });
      box.appendChild(bar);
      box.appendChild(el("div", "legend", KINDS.map(function (k) { return k + " " + pct(g.share[k]); }).join(" · ")));
      var badges = el("div", "badges");
      Object.keys(g.signals).forEach(function (name) {
        if (!g.signals[name]) { return; }
        var badge = el("span", "badge", name.replace(/_/g, " "));
        badge.setAttribute("data-sample", key("stage_signal", Object.assign({ signal: name }, at)));
        badge.setAttribute("data-value", "1");
        badge.title = g.signal_sentences.filter(function (t) { return t.indexOf(": ") > 0; }).join("\n");
        badges.appendChild(badge);
      });
      box.appendChild(badges);
    }
    return box;
  }

  function map(s) {
    var row = el("div", "map");
    s.stages.forEach(function (g, i) {
      if (i > 0) { row.appendChild(el("div", "arrow", "\u2192")); }
      row.appendChild(stageBox(s, g));
    });
    return row;
  }

  function sentence(s) {
    if (s.bottleneck) { return el("p", "sentence", s.bottleneck.sentence); }
    return el("p", "sentence none", "No bottleneck: no stage shows work piling up.");
  }

  var LAYOUT = {
    height: 268, margin: { l: 48, r: 12, t: 28, b: 36 }, font: { size: 11 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff", legend: { orientation: "h", y: -0.2 },
  };
  function layout(title, extra) {
    return Object.assign({}, LAYOUT, { title: { text: title, font: { size: 12 }, x: 0.02 } }, extra);
  }

  function cfdFigure(c) {
    var traces = [];
    for (var i = c.stages.length - 1; i >= 0; i--) {
      traces.push({ x: c.at, y: c.arrived[i], name: c.stages[i], type: "scatter", mode: "lines",
        line: { width: 1 }, fill: i === c.stages.length - 1 ? "tozeroy" : "tonexty" });
    }
    return { data: traces, layout: layout("Cumulative flow (items that reached each stage)",
      { legend: { orientation: "v", traceorder: "reversed", x: 1.02, y: 1 }, margin: { l: 48, r: 90, t: 28, b: 36 },
        yaxis: { title: { text: "items" }, rangemode: "tozero" } }) };
  }

  /* The unit a chart's durations read best in: days, hours or minutes, by the largest value. */
  function unitFor(values) {
    var top = Math.max.apply(null, [0].concat(values.filter(function (v) { return v !== null && v !== undefined; })));
    if (top >= 2 * 86400) { return { size: 86400, name: "days" }; }
    if (top >= 2 * 3600) { return { size: 3600, name: "hours" }; }
    return { size: 60, name: "minutes" };
  }

  function hline(y, label, color) {
    return { shape: { type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y,
      line: { color: color, width: 1, dash: "dash" } },
      note: { xref: "paper", x: 1, xanchor: "right", y: y, yanchor: "bottom", text: label,
        showarrow: false, font: { size: 10, color: color } } };
  }

  function scatterFigure(c) {
    var colors = { "0.5": "#2f7d4f", "0.85": "#d35400", "0.95": "#c0392b" };
    var unit = unitFor(c.cycle_seconds);
    var lines = Q.filter(function (q) { return c.lines[q] !== undefined; }).map(function (q) {
      return hline(c.lines[q] / unit.size, Math.round(Number(q) * 100) + "%: " + duration(c.lines[q]), colors[q]);
    });
    return { data: [{ x: c.completed_at, y: c.cycle_seconds.map(function (v) { return v / unit.size; }),
      text: c.items, type: "scatter", mode: "markers", name: "completed item",
      marker: { size: 6, color: "#34495e", opacity: 0.7 },
      hovertemplate: "%{text}<br>%{y:.1f} " + unit.name + "<extra></extra>" }],
      layout: layout("Cycle time scatterplot", { showlegend: false,
        yaxis: { title: { text: "cycle time, " + unit.name }, rangemode: "tozero" },
        shapes: lines.map(function (l) { return l.shape; }),
        annotations: lines.map(function (l) { return l.note; }) }) };
  }

  function jitter(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) { h = (h * 31 + name.charCodeAt(i)) % 1000; }
    return (h / 1000 - 0.5) * 0.6;
  }

  function agingFigure(c) {
    var index = {};
    c.stages.forEach(function (name, i) { index[name] = i; });
    var shapes = [], fills = ["rgba(47,125,79,0.15)", "rgba(201,162,39,0.2)", "rgba(211,84,0,0.2)"];
    var unit = unitFor(c.age_seconds.concat(Object.keys(c.bands).map(function (s) { return c.bands[s]["0.95"]; })));
    c.stages.forEach(function (name, i) {
      var b = c.bands[name];
      if (!b) { return; }
      var low = 0;
      Q.forEach(function (q, k) {
        shapes.push({ type: "rect", x0: i - 0.45, x1: i + 0.45, y0: low / unit.size, y1: b[q] / unit.size,
          line: { width: 0 }, fillcolor: fills[k], layer: "below" });
        low = b[q];
      });
    });
    return { data: [{ x: c.stage.map(function (s, k) { return index[s] + jitter(c.items[k]); }),
      y: c.age_seconds.map(function (v) { return v / unit.size; }), text: c.items, type: "scatter",
      mode: "markers", marker: { size: 6, color: "#34495e", opacity: 0.75 },
      hovertemplate: "%{text}<br>age %{y:.1f} " + unit.name + "<extra></extra>" }],
      layout: layout("Aging work in progress (bands: 50/85/95 % of completed items had left the stage by that age)",
        { showlegend: false, shapes: shapes,
          xaxis: { tickvals: c.stages.map(function (_, i) { return i; }), ticktext: c.stages,
            range: [-0.6, c.stages.length - 0.4], zeroline: false },
          yaxis: { title: { text: "age, " + unit.name }, rangemode: "tozero" } }) };
  }

  function throughputFigure(c) {
    return { data: [{ x: c.day, y: c.completed, type: "bar", marker: { color: "#2f7d4f" },
      hovertemplate: "%{x}: %{y} completed<extra></extra>" }],
      layout: layout("Throughput run chart (items completed per day)", { showlegend: false,
        yaxis: { title: { text: "items" }, rangemode: "tozero" } }) };
  }

  /* Forecasts (view/forecasts.py): the how-many and when distributions, the exposed numbers marked. */
  var LEVEL_COLORS = { "0.5": "#2f7d4f", "0.85": "#d35400", "0.95": "#c0392b" };
  var nowSeconds = 0;
  function dayOf(d) { return new Date((nowSeconds + d * 86400) * 1000).toISOString().slice(0, 10); }
  function levelLines(f) {
    return f.confidences.map(function (c) {
      return hline(Number(c) * 100, Math.round(Number(c) * 100) + " %", LEVEL_COLORS[c]);
    });
  }

  /* The forecast's warning (too few completions) written across the chart itself. */
  function caution(f) {
    return f.warning ? [{ xref: "paper", yref: "paper", x: 0.5, y: 0.35, showarrow: false,
      text: f.warning.replace(": ", ":<br>").replace(" (", "<br>("), font: { size: 12, color: "#b03a2e" },
      bgcolor: "rgba(255,247,224,0.9)", bordercolor: "#ecd48a" }] : [];
  }

  function howManyFigure(f) {
    var data = [], lines = levelLines(f), dash = ["dot", "dash", "solid"], top = 1;
    f.how_many.forEach(function (h, i) {
      h.probability.forEach(function (p, k) { if (p >= 0.005) { top = Math.max(top, k + 1); } });
      data.push({ x: h.probability.map(function (_, k) { return k; }), type: "scatter", mode: "lines",
        y: h.probability.map(function (p) { return p * 100; }), name: "next " + h.days + " days",
        line: { shape: "hv", width: 1.5, dash: dash[i % 3], color: "#34495e" },
        hovertemplate: "next " + h.days + " days: at least %{x} items, %{y:.1f} %<extra></extra>" });
      var cs = f.confidences.filter(function (c) { return h.items[c] !== undefined; });
      data.push({ x: cs.map(function (c) { return h.items[c]; }), showlegend: false, type: "scatter",
        y: cs.map(function (c) { return h.probability[h.items[c]] * 100; }), mode: "markers",
        marker: { size: 7, color: cs.map(function (c) { return LEVEL_COLORS[c]; }) },
        hovertemplate: h.days + " days: at least %{x} items<extra></extra>" });
    });
    return { data: data, layout: layout("How many items in the next 7 / 14 / 30 days (chance of at least that many)",
      { shapes: lines.map(function (l) { return l.shape; }), annotations: lines.map(function (l) { return l.note; }).concat(caution(f)),
        legend: { x: 0.99, xanchor: "right", y: 0.6, bgcolor: "rgba(255,255,255,0.8)" },
        xaxis: { title: { text: "items" }, range: [0, top] }, yaxis: { title: { text: "chance, %" }, range: [0, 102] } }) };
  }

  function whenFigure(f) {
    var data = [], lines = levelLines(f), shapes = lines.map(function (l) { return l.shape; });
    var notes = lines.map(function (l) { return l.note; });
    f.when.forEach(function (t) {
      if (!t.probability.length) { return; }
      data.push({ x: t.day, y: t.probability.map(function (p) { return p * 100; }), type: "scatter",
        mode: "lines", line: { shape: "hv", width: 1.5 }, name: t.target + " (" + t.remaining + " items)",
        text: t.day.map(dayOf), hovertemplate: t.target + ": done by %{text} (day %{x}) with %{y:.1f} %<extra></extra>" });
      var cs = f.confidences.filter(function (c) { return t.completion_seconds[c] !== undefined; });
      var ds = cs.map(function (c) { return Math.round(t.completion_seconds[c] / 86400); });
      data.push({ x: ds, y: ds.map(function (d) { return t.probability[d - 1] * 100; }), showlegend: false,
        type: "scatter", mode: "markers", marker: { size: 7, color: cs.map(function (c) { return LEVEL_COLORS[c]; }) },
        text: ds.map(dayOf), hovertemplate: t.target + ": by %{text} (day %{x})<extra></extra>" });
      if (t.due_days !== null && t.due_days > 0 && t.due_days <= t.day.length) {
        shapes.push({ type: "line", x0: t.due_days, x1: t.due_days, yref: "paper", y0: 0, y1: 1,
          line: { color: "#7f8c8d", width: 1, dash: "dot" } });
        notes.push({ x: t.due_days, yref: "paper", y: 1, yanchor: "bottom", showarrow: false, font: { size: 10 },
          text: t.target + " due " + dayOf(t.due_days) + ": " + pct(t.due) });
      }
    });
    notes = notes.concat(caution(f));
    if (!data.length && f.completions) {
      notes.push({ xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, text: "Nothing remains to forecast." });
    }
    return { data: data, layout: layout("When will the remaining items be done (chance, by days from now)",
      { shapes: shapes, annotations: notes, legend: { x: 0.01, y: 0.98, bgcolor: "rgba(255,255,255,0.8)" }, xaxis: { title: { text: "days from now" }, rangemode: "tozero" },
        yaxis: { title: { text: "chance, %" }, range: [0, 102] } }) };
  }

  /* The forecast numbers as /metrics exposes them (data-sample), beside the two charts. */
  function forecastTable(s) {
    var f = s.forecast, table = el("table", "forecast"), head = el("tr");
    ["forecast", "remaining"].concat(f.confidences.map(function (c) { return Math.round(Number(c) * 100) + " %"; }))
      .concat(["due date", "chance by due"]).forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    function row(label, cells) {
      var tr = el("tr");
      tr.appendChild(el("td", null, label));
      cells.forEach(function (node) { var td = el("td"); if (node) { td.appendChild(node); } tr.appendChild(td); });
      table.appendChild(tr);
    }
    f.how_many.forEach(function (h) {
      row("items in the next " + h.days + " days (at least)", [null].concat(f.confidences.map(function (c) {
        return num(key("forecast_items", { stream: s.name, days: String(h.days), confidence: c }), h.items[c], count);
      })).concat([null, null]));
    });
    f.when.forEach(function (t) {
      var at = { stream: s.name, target: t.target };
      row("done within: " + (t.target === "wip" ? "started WIP" : t.target), [num(key("forecast_remaining_items", at), t.remaining, count)]
        .concat(f.confidences.map(function (c) {
          return num(key("forecast_completion_seconds", Object.assign({ confidence: c }, at)), t.completion_seconds[c], duration);
        })).concat([t.due_seconds === null ? null : el("span", null, new Date(t.due_seconds * 1000 - 1).toISOString().slice(0, 10)),
          t.due === null ? null : num(key("forecast_due_ratio", at), t.due, pct)]));
    });
    return table;
  }

  function forecastBody(s) {
    var box = el("div", "forecast-text");
    box.appendChild(el("h3", null, "Forecasts from the last " + s.forecast.history_days + " days (" +
      s.forecast.completions + " items completed)"));
    if (s.forecast.warning) { box.appendChild(el("p", "forecast-warning", s.forecast.warning)); }
    box.appendChild(forecastTable(s));
    return box;
  }

  /* Handoffs, blocked reasons, distribution (view/model.py `breakdown`): small tables whose
   * cells carry their /metrics samples; a cell whose sample /metrics does not have is null: "-". */
  function breakdownBody(s) {
    var b = s.breakdown, box = el("div", "breakdown");
    function table(cls, heads, rows) {
      var t = el("table", cls), head = el("tr");
      heads.forEach(function (h) { head.appendChild(el("th", null, h)); });
      t.appendChild(head);
      rows.forEach(function (cells) {
        var tr = el("tr");
        cells.forEach(function (c) {
          var td = el("td");
          if (typeof c === "string") { td.textContent = c; } else { td.appendChild(c); }
          tr.appendChild(td);
        });
        t.appendChild(tr);
      });
      return t;
    }
    var hand = el("div", "breakdown-part");
    hand.appendChild(el("h3", null, "Handoffs per completed item"));
    hand.appendChild(table("handoffs", ["kind"].concat(Q.map(function (q) { return "p" + Math.round(Number(q) * 100); })),
      Object.keys(b.handoffs).map(function (kind) {
        return [kind].concat(Q.map(function (q) {
          return num(key("handoffs_per_item", { stream: s.name, kind: kind, quantile: q }), b.handoffs[kind][q], count);
        }));
      })));
    box.appendChild(hand);
    var blocked = el("div", "breakdown-part");
    blocked.appendChild(el("h3", null, "Blocked by reason"));
    blocked.appendChild(table("reasons", ["reason", "blocked now", "blocked time (window)"],
      b.blocked_reasons.map(function (r) {
        var at = { stream: s.name, reason: r.reason };
        return [r.reason, num(key("blocked_reason_items", at), r.items, count),
          num(key("blocked_reason_seconds", at), r.seconds, duration)];
      })));
    box.appendChild(blocked);
    var dist = el("div", "breakdown-part");
    dist.appendChild(el("h3", null, "Distribution: started WIP and throughput"));
    dist.appendChild(table("distribution", ["dimension", "value", "started WIP", "throughput (window)"],
      b.distribution.map(function (d) {
        var at = { stream: s.name, dimension: d.dimension, value: d.value };
        return [d.dimension, d.value, num(key("distribution_wip_items", at), d.wip, count),
          num(key("distribution_throughput_items", at), d.throughput, count)];
      })));
    box.appendChild(dist);
    return box;
  }

  var CHARTS = [
    ["cumulative_flow", cfdFigure], ["cycle_time_scatter", scatterFigure],
    ["aging", agingFigure], ["throughput", throughputFigure],
  ];
  var FORECAST_CHARTS = [["forecast_how_many", howManyFigure], ["forecast_when", whenFigure]];

  function section(s) {
    var id = "stream-" + s.name;
    var node = document.getElementById(id);
    if (node) { return node; }
    node = el("section", "stream");
    node.id = id;
    node.setAttribute("data-stream", s.name);
    node.appendChild(el("h2", null, "Stream " + s.name));
    node.appendChild(el("div", "body"));
    var charts = el("div", "charts");
    CHARTS.forEach(function (c) {
      var div = el("div", "chart");
      div.id = id + "-" + c[0];
      div.setAttribute("data-chart", c[0]);
      charts.appendChild(div);
    });
    node.appendChild(charts);
    var forecast = el("div", "forecast");
    forecast.appendChild(el("div", "forecast-text"));
    var fcharts = el("div", "charts");
    FORECAST_CHARTS.forEach(function (c) {
      var div = el("div", "chart");
      div.id = id + "-" + c[0];
      div.setAttribute("data-chart", c[0]);
      fcharts.appendChild(div);
    });
    forecast.appendChild(fcharts);
    node.appendChild(forecast);
    node.appendChild(el("div", "breakdown"));
    document.getElementById("streams").appendChild(node);
    return node;
  }

  function renderStream(s) {
    var node = section(s);
    var body = el("div", "body");
    if (!s.has_data) {
      body.appendChild(el("p", "nodata", "No data yet for stream " + s.name +
        ": no event of this stream has arrived. Send webhooks to the ingester or run flowgauge replay."));
    }
    body.appendChild(figures(s));
    body.appendChild(map(s));
    body.appendChild(sentence(s));
    node.replaceChild(body, node.querySelector(".body"));
    var charts = node.querySelector(".charts"), forecast = node.querySelector(".forecast");
    var shares = node.querySelector(".breakdown");
    charts.style.display = forecast.style.display = shares.style.display = s.has_data ? "" : "none";
    if (!s.has_data) { return; }
    forecast.replaceChild(forecastBody(s), forecast.querySelector(".forecast-text"));
    node.replaceChild(breakdownBody(s), shares);
    if (typeof Plotly === "undefined") { return; }
    CHARTS.concat(FORECAST_CHARTS).forEach(function (c) {
      var div = document.getElementById(node.id + "-" + c[0]);
      var fig = c[1](c[0].indexOf("forecast_") === 0 ? s.forecast : s.charts[c[0]]);
      Plotly.react(div, fig.data, fig.layout, { displayModeBar: false, responsive: true });
      plotted[div.id] = true;
    });
  }

  function renderDora(services) {
    var box = el("div");
    box.appendChild(el("h2", null, "DORA per service"));
    if (!services.length) {
      box.appendChild(el("p", "nodata", "No production deployment recorded yet."));
    } else {
      var table = el("table", "dora"), head = el("tr");
      ["service", "deploys / day", "lead time for changes p50", "p85", "change failure rate",
        "time to restore p50", "p85"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(head);
      services.forEach(function (d) {
        var at = { service: d.service }, tr = el("tr");
        function cell(node) { var td = el("td"); td.appendChild(node); tr.appendChild(td); }
        tr.appendChild(el("td", null, d.service));
        cell(num(key("dora_deployment_frequency_per_day", at), d.deployment_frequency_per_day, perDay));
        ["0.5", "0.85"].forEach(function (q) {
          cell(num(key("dora_lead_time_for_changes_seconds", { service: d.service, quantile: q }), d.lead_time_for_changes[q], duration));
        });
        cell(num(key("dora_change_failure_ratio", at), d.change_failure_ratio, pct));
        ["0.5", "0.85"].forEach(function (q) {
          cell(num(key("dora_time_to_restore_seconds", { service: d.service, quantile: q }), d.time_to_restore[q], duration));
        });
        table.appendChild(tr);
      });
      box.appendChild(table);
    }
    var dora = document.getElementById("dora");
    dora.replaceChildren(box);
  }

  function render(model) {
    nowSeconds = model.now_seconds;
    model.streams.forEach(renderStream);
    renderDora(model.services);
    var status = document.getElementById("status");
    status.className = "";
    var when = embedded ? "recorded events" : "updated " + new Date().toLocaleTimeString();
    status.textContent = when + " · now " + model.now.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") +
      " (" + model.clock + " clock)" + (model.ready === false ? " · worker recovering" : "");
    document.body.setAttribute("data-now", String(model.now_seconds));
  }

  function poll() {
    fetch("api/view", { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(render).catch(function (err) {
      var status = document.getElementById("status");
      status.className = "error";
      status.textContent = "cannot reach the worker (" + err.message + "); retrying";
    }).finally(function () { setTimeout(poll, POLL_MS); });
  }

  if (embedded) {
    render(JSON.parse(embedded.textContent));
  } else {
    poll();
  }
}());
