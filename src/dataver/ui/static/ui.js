/* dataver ui: draws box/polygon overlays (SVG) from the JSON a page embeds, and switches the
   comparison modes (side by side, swipe, onion skin, pixel difference). No library; the page
   works without this script except for the overlays and the sliders. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var PALETTE = ["#0969da", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4",
                 "#e16f24", "#57606a", "#116329"];

  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  /* stored-pixel point -> shown point (EXIF orientation), by the matrix [a b c d e f] */
  function apply(m, x, y) { return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]]; }

  function rectOf(m, bbox) {
    var p = apply(m, bbox[0], bbox[1]), q = apply(m, bbox[0] + bbox[2], bbox[1] + bbox[3]);
    return {x: Math.min(p[0], q[0]), y: Math.min(p[1], q[1]),
            w: Math.abs(q[0] - p[0]), h: Math.abs(q[1] - p[1])};
  }

  function frame(svg, data) {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.setAttribute("viewBox", "0 0 " + data.width + " " + data.height);
    svg.setAttribute("preserveAspectRatio", "none");
    return Math.max(data.width, data.height) / 28;  // label size, in image pixels
  }

  function label(svg, text, x, y, size, attrs) {
    var t = el("text", Object.assign({x: x + size * 0.2, y: Math.max(y - size * 0.25, size),
                                      "font-size": size}, attrs || {}));
    t.textContent = text;
    svg.appendChild(t);
  }

  /* the file page: COCO boxes, labels and polygons, one colour per category */
  function drawShapes(svg, data) {
    var size = frame(svg, data), m = data.matrix;
    data.shapes.forEach(function (s) {
      var colour = PALETTE[Math.abs(Number(s.category) || 0) % PALETTE.length];
      s.polygons.forEach(function (poly) {
        var pts = [];
        for (var i = 0; i + 1 < poly.length; i += 2) { pts.push(apply(m, poly[i], poly[i + 1]).join(",")); }
        svg.appendChild(el("polygon", {"class": "shape", points: pts.join(" "), stroke: colour, fill: colour}));
      });
      if (s.bbox) {
        var r = rectOf(m, s.bbox);
        svg.appendChild(el("rect", {"class": "shape", x: r.x, y: r.y, width: r.w, height: r.h,
                                    stroke: colour, "data-label": s.label}));
        label(svg, s.label, r.x, r.y, size, {fill: colour});
      }
    });
  }

  /* the comparison: boxes coloured by change class */
  function drawBoxes(svg, data) {
    var size = frame(svg, data), m = data.matrix;
    data.shapes.forEach(function (s) {
      var r = rectOf(m, s.bbox), cls = "box-" + s["class"];
      svg.appendChild(el("rect", {"class": "box " + cls, x: r.x, y: r.y, width: r.w, height: r.h,
                                  "data-label": s.label}));
      label(svg, s.label, r.x, r.y, size, {"class": cls});
    });
  }

  function setMode(item, mode) {
    var diff = item.querySelector("img.difference");
    if (mode === "difference" && !diff) { mode = "side"; }
    if (mode === "difference" && !diff.getAttribute("src")) { diff.setAttribute("src", diff.dataset.src); }
    item.dataset.mode = mode;
    item.querySelectorAll(".item-modes button").forEach(function (b) {
      b.classList.toggle("current", b.dataset.mode === mode);
    });
    var slider = item.querySelector(".slider"), top = item.querySelector(".layer-b");
    slider.value = 50;
    top.style.clipPath = mode === "swipe" ? "inset(0 0 0 50%)" : "";
    top.style.opacity = mode === "onion" ? "0.5" : "";
  }

  function slide(item) {
    var v = Number(item.querySelector(".slider").value), top = item.querySelector(".layer-b");
    if (item.dataset.mode === "swipe") { top.style.clipPath = "inset(0 0 0 " + v + "%)"; }
    if (item.dataset.mode === "onion") { top.style.opacity = String(v / 100); }
  }

  function comparePage(data) {
    var byId = {};
    data.items.forEach(function (d) { byId[d.id] = d; });
    document.querySelectorAll("article.item").forEach(function (item) {
      var d = byId[item.dataset.item];
      item.querySelectorAll("svg.overlay").forEach(function (svg) {
        var side = d && d[svg.dataset.side];
        if (side) { drawBoxes(svg, side); }
      });
      setMode(item, item.dataset.mode);
      item.querySelectorAll(".item-modes button").forEach(function (b) {
        b.addEventListener("click", function () { setMode(item, b.dataset.mode); });
      });
      item.querySelector(".slider").addEventListener("input", function () { slide(item); });
    });
    document.querySelectorAll("#modes a.mode").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        document.querySelectorAll("#modes a.mode").forEach(function (o) { o.classList.toggle("current", o === link); });
        document.querySelectorAll("article.item").forEach(function (item) { setMode(item, link.dataset.mode); });
        history.replaceState(null, "", link.getAttribute("href"));  // the URL reopens this mode
      });
    });
  }

  function filePage(data) {
    var svg = document.getElementById("overlay"), box = document.getElementById("show-shapes");
    drawShapes(svg, data);
    if (box) {
      box.addEventListener("change", function () {
        document.body.classList.toggle("hidden-shapes", !box.checked);
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var overlay = readJSON("overlay-data"), compare = readJSON("compare-data");
    if (overlay) { filePage(overlay); }
    if (compare) { comparePage(compare); }
    document.body.dataset.ready = "1";
  });
}());
