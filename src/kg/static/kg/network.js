// The pairing network: an SVG drawn from /network.json (SPARQL over the graph) on a
// Natural Earth coastline. Data go into the DOM as text and attributes only, never as HTML.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("network");
  var W = 1000, H = 700, BOTTOM = 60;  // the bottom strip holds divisions without coordinates
  var tooltip = document.getElementById("tooltip");

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, str, attrs) { var t = el("text", attrs, parent); t.textContent = str; return t; }
  function title(parent, str) { var t = el("title", {}, parent); t.textContent = str; return t; }
  function years(p) {
    if (!p.start && !p.end) return "?";
    return (p.start || "?") + "–" + (p.end || "");
  }
  function names(n) { return [n.zh, n.en].filter(Boolean).join(" · ") || n.label || n.iri; }

  function tip(target, str) {
    target.setAttribute("data-tip", str);
    target.addEventListener("mousemove", function (ev) {
      tooltip.textContent = str;
      tooltip.style.display = "block";
      tooltip.style.left = (ev.clientX + 14) + "px";
      tooltip.style.top = (ev.clientY + 12) + "px";
    });
    target.addEventListener("mouseleave", function () { tooltip.style.display = "none"; });
  }

  function extent(nodes) {
    var placed = nodes.filter(function (n) { return n.lat !== null; });
    if (!placed.length) return { lon0: 73, lon1: 135, lat0: 18, lat1: 54 };
    var lons = placed.map(function (n) { return n.long; }), lats = placed.map(function (n) { return n.lat; });
    var lon0 = Math.min.apply(null, lons), lon1 = Math.max.apply(null, lons);
    var lat0 = Math.min.apply(null, lats), lat1 = Math.max.apply(null, lats);
    var padLon = Math.max(2, (lon1 - lon0) * 0.12), padLat = Math.max(1.5, (lat1 - lat0) * 0.15);
    lon0 -= padLon; lon1 += padLon; lat0 -= padLat; lat1 += padLat;
    var minLon = 12, minLat = 8;
    if (lon1 - lon0 < minLon) { var c = (lon0 + lon1) / 2; lon0 = c - minLon / 2; lon1 = c + minLon / 2; }
    if (lat1 - lat0 < minLat) { var d = (lat0 + lat1) / 2; lat0 = d - minLat / 2; lat1 = d + minLat / 2; }
    return { lon0: lon0, lon1: lon1, lat0: lat0, lat1: lat1 };
  }

  function projection(ext) {
    var k = Math.cos(((ext.lat0 + ext.lat1) / 2) * Math.PI / 180);
    var w = (ext.lon1 - ext.lon0) * k, h = ext.lat1 - ext.lat0, avail = H - BOTTOM;
    var s = Math.min(W / w, avail / h);
    var ox = (W - w * s) / 2, oy = (avail - h * s) / 2;
    var proj = function (lon, lat) { return [ox + (lon - ext.lon0) * k * s, oy + (ext.lat1 - lat) * s]; };
    proj.invert = function (x, y) { return [ext.lon0 + (x - ox) / (k * s), ext.lat1 - (y - oy) / s]; };
    return proj;
  }

  function drawLand(land, proj, layer) {
    (land.features || []).forEach(function (f) {
      var polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      var d = "";
      polys.forEach(function (poly) {
        poly.forEach(function (ring) {
          ring.forEach(function (pt, i) { var p = proj(pt[0], pt[1]); d += (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); });
          d += "Z";
        });
      });
      el("path", { d: d, "class": "land" }, layer);
    });
  }

  function drawGraticule(proj, layer) {
    var nw = proj.invert(0, 0), se = proj.invert(W, H - BOTTOM);
    var ext = { lon0: nw[0], lat1: nw[1], lon1: se[0], lat0: se[1] };
    var step = (ext.lon1 - ext.lon0) > 25 ? 10 : 5;
    for (var lon = Math.ceil(ext.lon0 / step) * step; lon <= ext.lon1; lon += step) {
      var a = proj(lon, ext.lat0), b = proj(lon, ext.lat1);
      el("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], "class": "graticule" }, layer);
      text(layer, lon + "°E", { x: b[0] + 2, y: b[1] + 10, "class": "graticule-label" });
    }
    for (var lat = Math.ceil(ext.lat0 / step) * step; lat <= ext.lat1; lat += step) {
      var c = proj(ext.lon0, lat), e = proj(ext.lon1, lat);
      el("line", { x1: c[0], y1: c[1], x2: e[0], y2: e[1], "class": "graticule" }, layer);
      text(layer, lat + "°N", { x: c[0] + 2, y: c[1] - 2, "class": "graticule-label" });
    }
  }

  function draw(data, land) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var defs = el("defs", {}, svg);
    [["arrow", "#1a56a8"], ["arrow-ended", "#8a94a3"], ["arrow-successor", "#d9822b"]].forEach(function (m) {
      var mk = el("marker", { id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
      el("path", { d: "M0 0L10 5L0 10z", fill: m[1] }, mk);
    });
    var ext = extent(data.nodes), proj = projection(ext);
    var base = el("g", { "class": "base" }, svg);
    if (land) drawLand(land, proj, base);
    drawGraticule(proj, base);

    var byIri = {}, pos = {};
    data.nodes.forEach(function (n) { byIri[n.iri] = n; });
    var unplaced = data.nodes.filter(function (n) { return n.lat === null; });
    data.nodes.forEach(function (n) { if (n.lat !== null) pos[n.iri] = proj(n.long, n.lat); });
    if (unplaced.length) {
      el("rect", { x: 0, y: H - BOTTOM + 4, width: W, height: BOTTOM - 4, "class": "unplaced-box" }, base);
      text(base, "位置不详 location unknown", { x: 8, y: H - BOTTOM + 20, "class": "graticule-label" });
      unplaced.forEach(function (n, i) { pos[n.iri] = [170 + i * (W - 190) / Math.max(unplaced.length, 1), H - BOTTOM / 2 + 6]; });
    }

    var succeeds = {}, succeededBy = {};
    data.handovers.forEach(function (h) { succeeds[h.later] = h.earlier; succeededBy[h.earlier] = h.later; });
    var pairingByIri = {};
    data.pairings.forEach(function (p) { pairingByIri[p.iri] = p; });

    var edges = el("g", { "class": "pairings" }, svg);
    var seen = {};
    data.pairings.forEach(function (p) {
      var a = pos[p.assistant], b = pos[p.recipient];
      if (!a || !b) return;
      var key = p.assistant + " " + p.recipient, n = (seen[key] = (seen[key] || 0) + 1);
      var dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
      var bend = (0.12 + 0.08 * (n - 1)) * len * (n % 2 ? 1 : -1);
      var mx = (a[0] + b[0]) / 2 - dy / len * bend, my = (a[1] + b[1]) / 2 + dx / len * bend;
      var r = 7, sx = a[0] + (mx - a[0]) / Math.hypot(mx - a[0], my - a[1] || 1) * r,
          sy = a[1] + (my - a[1]) / Math.hypot(mx - a[0], my - a[1] || 1) * r,
          ex = b[0] - (b[0] - mx) / Math.hypot(b[0] - mx, b[1] - my || 1) * r,
          ey = b[1] - (b[1] - my) / Math.hypot(b[0] - mx, b[1] - my || 1) * r;
      var cls = "pairing", marker = "arrow";
      if (succeededBy[p.iri] || p.end) { cls += " ended"; marker = "arrow-ended"; }
      if (succeeds[p.iri]) { cls += " successor"; marker = "arrow-successor"; }
      var link = el("a", { href: p.href || null, "class": "pairing-link", "data-pairing": p.iri }, edges);
      el("path", { d: "M" + sx.toFixed(1) + " " + sy.toFixed(1) + "Q" + mx.toFixed(1) + " " + my.toFixed(1) + " " + ex.toFixed(1) + " " + ey.toFixed(1),
                   "class": cls, "marker-end": "url(#" + marker + ")" }, link);
      var an = byIri[p.assistant], rn = byIri[p.recipient];
      var label = names(an) + " → " + names(rn) + "  " + years(p);
      if (succeeds[p.iri] && pairingByIri[succeeds[p.iri]]) {
        var prev = pairingByIri[succeeds[p.iri]];
        label += "  (接续 took over from " + names(byIri[prev.assistant]) + ", " + years(prev) + ")";
      }
      if (succeededBy[p.iri] && pairingByIri[succeededBy[p.iri]]) {
        label += "  (交接给 handed over to " + names(byIri[pairingByIri[succeededBy[p.iri]].assistant]) + ")";
      }
      title(link, label);
      tip(link, label);
      var lx = 0.25 * sx + 0.5 * mx + 0.25 * ex, ly = 0.25 * sy + 0.5 * my + 0.25 * ey;
      text(link, years(p), { x: lx, y: ly, "class": "years", "text-anchor": "middle" });
    });

    // hand-overs: a dotted link from the earlier assistant to the one that took over
    var handovers = el("g", { "class": "handovers" }, svg);
    data.handovers.forEach(function (h) {
      var e = pairingByIri[h.earlier], l = pairingByIri[h.later];
      if (!e || !l) return;
      var a = pos[e.assistant], b = pos[l.assistant];
      if (!a || !b || (a[0] === b[0] && a[1] === b[1])) return;
      var mx = (a[0] + b[0]) / 2 + (b[1] - a[1]) * 0.3, my = (a[1] + b[1]) / 2 - (b[0] - a[0]) * 0.3;
      var path = el("path", { d: "M" + a[0] + " " + a[1] + "Q" + mx + " " + my + " " + b[0] + " " + b[1], "class": "handover-link" }, handovers);
      title(path, "交接 hand-over: " + names(byIri[e.assistant]) + " → " + names(byIri[l.assistant]) + " " + (l.start || e.end || ""));
    });

    // nodes, with labels placed where they do not overlap earlier ones
    var layer = el("g", { "class": "nodes" }, svg), boxes = [];
    var exitsByCounty = {};
    data.exits.forEach(function (x) { (exitsByCounty[x.county] = exitsByCounty[x.county] || []).push(x); });
    function free(b) {
      return boxes.every(function (o) { return b.x + b.w < o.x || o.x + o.w < b.x || b.y + b.h < o.y || o.y + o.h < b.y; });
    }
    var order = data.nodes.slice().sort(function (a, b) { return (b.roles.length - a.roles.length); });
    order.forEach(function (n) {
      var p = pos[n.iri];
      if (!p) return;
      var roles = n.roles, cls = "node other";
      if (roles.indexOf("assistant") >= 0 && roles.indexOf("recipient") >= 0) cls = "node both";
      else if (roles.indexOf("assistant") >= 0) cls = "node assistant";
      else if (roles.indexOf("recipient") >= 0) cls = "node recipient";
      var g = el("a", { href: n.href || null, "class": cls, "data-iri": n.iri }, layer);
      var info = names(n) + (n.approximate ? " (位置取上级区划 placed at its parent)" : "");
      var exits = exitsByCounty[n.iri] || [];
      exits.forEach(function (x) { info += "\n摘帽 exited: " + (x.date || x.year || "?"); });
      title(g, info);
      tip(g, info);
      if (exits.length) {
        el("circle", { cx: p[0], cy: p[1], r: 9.5, "class": "exit-mark", "data-exit": exits[0].iri }, g);
      }
      el("circle", { cx: p[0], cy: p[1], r: 5.5, "class": "dot" }, g);
      var label = n.zh || n.en || n.label, w = label.length * 11 + 4, h = 14;
      var options = [[10, 4, "start"], [-10, 4, "end"], [0, -11, "middle"], [0, 19, "middle"], [10, -8, "start"], [10, 16, "start"]];
      var chosen = options[0];
      for (var i = 0; i < options.length; i++) {
        var o = options[i], bx = o[2] === "start" ? p[0] + o[0] : o[2] === "end" ? p[0] + o[0] - w : p[0] - w / 2;
        var box = { x: bx, y: p[1] + o[1] - 11, w: w, h: h };
        if (free(box)) { chosen = o; boxes.push(box); break; }
      }
      text(g, label, { x: p[0] + chosen[0], y: p[1] + chosen[1], "text-anchor": chosen[2] });
      if (exits.length) {
        // the date where it has room; the tooltip and the list beside always carry it
        var when = "摘帽 " + (exits[0].date || exits[0].year || ""), dw = when.length * 7;
        var spots = [[0, 24], [0, -16], [dw / 2 + 12, 16], [-dw / 2 - 12, 16]];
        for (var j = 0; j < spots.length; j++) {
          var db = { x: p[0] + spots[j][0] - dw / 2, y: p[1] + spots[j][1] - 10, w: dw, h: 12 };
          if (free(db)) {
            boxes.push(db);
            text(g, when, { x: p[0] + spots[j][0], y: p[1] + spots[j][1], "text-anchor": "middle", "class": "exit-date" });
            break;
          }
        }
      }
    });

    // the lists beside the picture
    var summary = document.getElementById("network-summary");
    summary.textContent = data.pairings.length + " 段结对 pairings · " + data.nodes.length + " 个区划 divisions · " +
      data.handovers.length + " 次交接 hand-overs · " + data.exits.length + " 个摘帽 exits";
    var hl = document.getElementById("handover-list");
    data.handovers.forEach(function (h) {
      var e = pairingByIri[h.earlier], l = pairingByIri[h.later], li = document.createElement("li");
      if (!e || !l) return;
      li.textContent = names(byIri[e.assistant]) + " (" + years(e) + ") → " + names(byIri[l.assistant]) + " (" + years(l) + "), " + names(byIri[l.recipient]);
      hl.appendChild(li);
    });
    var xl = document.getElementById("exit-list");
    data.exits.forEach(function (x) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.textContent = names(byIri[x.county] || { iri: x.county });
      if (byIri[x.county] && byIri[x.county].href) a.href = byIri[x.county].href;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + (x.date || x.year || "")));
      xl.appendChild(li);
    });
    svg.setAttribute("data-ready", "true");
  }

  var landReq = fetch(svg.getAttribute("data-land")).then(function (r) { return r.ok ? r.json() : null; }).catch(function () { return null; });
  fetch(svg.getAttribute("data-src")).then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }).then(function (data) {
    return landReq.then(function (land) { draw(data, land); });
  }).catch(function (err) {
    svg.setAttribute("data-error", String(err));
    text(svg, "无法载入网络数据 could not load the network: " + err, { x: 20, y: 40 });
  });
})();
