// Status page: polls status.json every 2 s and renders the figures and a rate chart (no libraries).
"use strict";
(function () {
  var POLL_MS = 2000, HISTORY = 150; // 150 points × 2 s = 5 minutes
  var samples = []; // {t: ms, in: total, out: total}
  var rates = [];   // {t: ms, in: msgs/s, out: msgs/s}

  function $(id) { return document.getElementById(id); }
  function setText(id, v) { $(id).textContent = String(v); }
  function fmtUptime(s) {
    s = Math.floor(s);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }
  function fmtRate(v) { return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2); }
  function fillRows(tbody, rows) {
    var el = $(tbody);
    while (el.firstChild) el.removeChild(el.firstChild);
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (c) {
        var td = document.createElement("td");
        td.textContent = c.text !== undefined ? c.text : String(c);
        if (c.cls) td.className = c.cls;
        tr.appendChild(td);
      });
      el.appendChild(tr);
    });
  }

  function render(name, n) {
    var st = n.status;
    setText("node-name", name);
    setText("version", st.version);
    setText("uptime", fmtUptime(n.uptime_seconds || 0));
    setText("connections", st.num_connections);
    setText("online", st.num_online);
    setText("offline", st.num_offline);
    setText("subscriptions", st.num_subscriptions);
    setText("retained", st.num_retained);
    setText("queue-in", st.queue_in);
    setText("queue-out", st.queue_out);
    setText("queue-drop", st.queue_drop);
    setText("queue-unhandled", st.queue_unhandled);
    setText("msg-in", st.msg_in);
    setText("msg-out", st.msg_out);
    fillRows("listeners", (n.listeners || []).map(function (l) {
      return [l.type, l.name, {text: l.status, cls: l.status}, l.address, l.port, l.mountpoint || "",
        l.max_conns || "unlimited", l.active_conns];
    }));
    fillRows("cluster", (n.cluster || []).map(function (m) {
      return [m.Node, {text: String(m.Running), cls: m.Running ? "running" : "stopped"}];
    }));
    fillRows("limits", Object.keys(n.limits || {}).sort().map(function (k) { return [k, n.limits[k]]; }));

    var t = n.timestamp_ms || Date.now();
    var prev = samples[samples.length - 1];
    samples.push({t: t, "in": st.msg_in, out: st.msg_out});
    if (samples.length > 2) samples.shift();
    if (prev && t > prev.t) {
      var dt = (t - prev.t) / 1000;
      rates.push({t: t, "in": Math.max(0, st.msg_in - prev["in"]) / dt, out: Math.max(0, st.msg_out - prev.out) / dt});
      if (rates.length > HISTORY) rates.shift();
      var last = rates[rates.length - 1];
      setText("rate-in", fmtRate(last["in"]));
      setText("rate-out", fmtRate(last.out));
    }
    drawChart();
    setText("updated", "updated " + new Date(t).toLocaleTimeString());
  }

  var SVGNS = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function drawChart() {
    var svg = $("chart"), W = 1000, H = 240, L = 50, B = 20, T = 10;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var max = 1;
    rates.forEach(function (r) { max = Math.max(max, r["in"], r.out); });
    max = niceCeil(max);
    for (var i = 0; i <= 4; i++) {
      var y = T + (H - T - B) * (1 - i / 4);
      svg.appendChild(svgEl("line", {x1: L, x2: W, y1: y, y2: y, "class": "grid"}));
      svg.appendChild(svgEl("text", {x: L - 6, y: y + 4, "text-anchor": "end", "class": "axis"}, fmtRate(max * i / 4)));
    }
    svg.appendChild(svgEl("text", {x: L, y: H - 4, "class": "axis"}, "-5 min"));
    svg.appendChild(svgEl("text", {x: W - 4, y: H - 4, "text-anchor": "end", "class": "axis"}, "now"));
    ["in", "out"].forEach(function (k) {
      var pts = rates.map(function (r, idx) {
        var x = L + (W - L) * (HISTORY - rates.length + idx) / (HISTORY - 1);
        var y = T + (H - T - B) * (1 - r[k] / max);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      if (pts.length) svg.appendChild(svgEl("polyline", {points: pts.join(" "), "class": k}));
    });
  }
  function niceCeil(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v))), f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function showError(msg) {
    var e = $("error");
    e.hidden = !msg;
    e.textContent = msg || "";
  }
  function poll() {
    fetch("status.json", {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error("status.json answered HTTP " + r.status);
      return r.json();
    }).then(function (list) {
      var obj = list[0] || {}, name = Object.keys(obj)[0];
      if (!name) throw new Error("status.json has no node");
      render(name, obj[name]);
      showError("");
    }).catch(function (err) {
      showError("cannot read status.json: " + err.message + " (is the node running?)");
    });
  }
  poll();
  setInterval(poll, POLL_MS);
})();
