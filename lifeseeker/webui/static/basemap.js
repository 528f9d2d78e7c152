// The map's background (progressive enhancement). With a tile server configured (LIFESEEKER_TILES_URL, the map
// element's data-tiles) its tiles; otherwise, offline, the vendored world-atlas TopoJSON (Natural Earth 1:50m
// countries, decoded by the vendored topojson-client): land, country borders and coastlines, with city labels
// from the gazetteer (/api/cities for the visible box). Tooltips are kept inside the map and off the zoom buttons.
(function () {
  "use strict";
  const script = document.currentScript;
  const root = script ? new URL(script.src, location.href).pathname.replace(/static\/basemap\.js$/, "") : "/";
  let atlas = null;

  // Rings and lines that cross the antimeridian jump from +180 to -180 in Natural Earth; Leaflet would draw that
  // jump as a line across the world. Keep each ring continuous (longitudes may then run past +-180).
  function unwrapLine(line) {
    const out = [];
    let prev = null;
    line.forEach((p) => {
      let lon = p[0];
      if (prev !== null) { while (lon - prev > 180) lon -= 360; while (lon - prev < -180) lon += 360; }
      out.push([lon, p[1]]);
      prev = lon;
    });
    return out;
  }
  function unwrap(geom) {
    const depth = { LineString: 0, MultiLineString: 1, Polygon: 1, MultiPolygon: 2 }[geom.type];
    const walk = (c, d) => (d === 0 ? unwrapLine(c) : c.map((x) => walk(x, d - 1)));
    return depth === undefined ? geom : { type: geom.type, coordinates: walk(geom.coordinates, depth) };
  }
  function unwrapAll(g) {
    if (g.type === "FeatureCollection") return { type: g.type, features: g.features.map((f) => ({ ...f, geometry: f.geometry && unwrap(f.geometry) })) };
    if (g.type === "Feature") return { ...g, geometry: g.geometry && unwrap(g.geometry) };
    return unwrap(g);
  }

  function loadAtlas() {
    if (!atlas) {
      atlas = fetch(root + "static/vendor/world-atlas/countries-50m.json")
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
        .then((topo) => ({
          land: unwrapAll(window.topojson.feature(topo, topo.objects.countries)),
          borders: unwrapAll(window.topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b)),
          coast: unwrapAll(window.topojson.mesh(topo, topo.objects.countries, (a, b) => a === b)),
        }));
    }
    return atlas;
  }

  function cityLabels(map, el) {
    const layer = window.L.layerGroup().addTo(map);
    let seq = 0;
    function update() {
      const b = map.getBounds();
      const z = map.getZoom();
      const limit = z <= 3 ? 12 : z <= 6 ? 25 : 40;
      const bbox = [Math.max(-90, b.getSouth()), b.getWest(), Math.min(90, b.getNorth()), b.getEast()]
        .map((v) => v.toFixed(4)).join(",");
      const mine = ++seq;
      fetch(root + "api/cities?bbox=" + bbox + "&limit=" + limit, { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
        .then((body) => {
          if (mine !== seq) return;
          layer.clearLayers();
          body.cities.forEach((c) => {
            const label = document.createElement("span");
            label.textContent = c.name;
            window.L.marker([c.lat, c.lon], { icon: window.L.divIcon({ className: "city-label", html: label,
              iconSize: null }), interactive: false, keyboard: false, pane: "labels" }).addTo(layer);
          });
          el.dataset.cities = String(body.cities.length);
        })
        .catch(() => { el.dataset.cities = "0"; });
    }
    map.on("moveend", update);
    map.whenReady(update);
  }

  function keepInside(map, tooltip) {
    const el = tooltip.getElement();
    if (!el) return;
    const pad = 4;
    const m = map.getContainer().getBoundingClientRect();
    const r = el.getBoundingClientRect();
    let dx = 0; let dy = 0;
    if (r.left < m.left + pad) dx = m.left + pad - r.left; else if (r.right > m.right - pad) dx = m.right - pad - r.right;
    if (r.top < m.top + pad) dy = m.top + pad - r.top; else if (r.bottom > m.bottom - pad) dy = m.bottom - pad - r.bottom;
    const zoom = map.getContainer().querySelector(".leaflet-control-zoom");
    if (zoom) {
      const z = zoom.getBoundingClientRect();
      const n = { left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy };
      if (n.left < z.right && n.right > z.left && n.top < z.bottom && n.bottom > z.top) {
        if (z.bottom + pad + (n.bottom - n.top) <= m.bottom - pad) dy += z.bottom + pad - n.top;
        else dx += z.right + pad - n.left;
      }
    }
    if (dx || dy) window.L.DomUtil.setPosition(el, window.L.DomUtil.getPosition(el).add([dx, dy]));
  }

  window.lifeseekerBasemap = function (map, el) {
    map.on("tooltipopen", (e) => keepInside(map, e.tooltip));
    const tiles = el.dataset.tiles;
    if (tiles) {
      window.L.tileLayer(tiles, { attribution: el.dataset.attribution || "", maxZoom: 19 }).addTo(map);
      window.L.control.attribution({ prefix: false }).addTo(map);
      el.dataset.basemap = "tiles";
      return;
    }
    el.classList.add("offline");
    map.createPane("atlas").style.zIndex = 250;
    map.createPane("labels").style.zIndex = 350;
    map.getPane("labels").style.pointerEvents = "none";
    if (!window.topojson) { el.dataset.basemap = "none"; return; }
    loadAtlas().then((a) => {
      const opts = { pane: "atlas", interactive: false };
      window.L.geoJSON(a.land, { ...opts, style: { stroke: false, fillColor: "#f3f0e6", fillOpacity: 1, className: "land" } }).addTo(map);
      window.L.geoJSON(a.borders, { ...opts, style: { color: "#b4aa94", weight: 0.8, fill: false, className: "border" } }).addTo(map);
      window.L.geoJSON(a.coast, { ...opts, style: { color: "#6f8aa3", weight: 1, fill: false, className: "coast" } }).addTo(map);
      el.dataset.basemap = "world-atlas";
    }).catch(() => { el.dataset.basemap = "none"; });
    cityLabels(map, el);
  };
})();
