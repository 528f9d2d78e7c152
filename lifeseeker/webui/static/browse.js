// The home page's browsing (progressive enhancement over /api/overview): a calendar on a true time axis that
// zooms years -> months -> days -> hours (every period of the range gets its slot, empty ones too, so gaps show
// as gaps), a map of every place, and links that narrow the search: a day opens its day view (/day/<date>), an
// hour searches that hour, a place searches near it. DOM APIs and textContent only.
(function () {
  "use strict";
  const cal = document.getElementById("calendar");
  const crumbs = document.getElementById("crumbs");
  const note = document.getElementById("calendar-note");
  const mapEl = document.getElementById("placemap");
  if (!cal) return;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n) => String(n).padStart(2, "0");
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) e.setAttribute(k, v); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  let data = null;
  const sum = (prefix) => Object.entries(data.hours).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0);

  // the slots of one zoom level: [{key, label, count, title, next}] in time order, every period of the range
  function slots(level) {
    const out = [];
    if (level.length === 0) {
      const y0 = Number(data.first.slice(0, 4)); const y1 = Number(data.last.slice(0, 4));
      for (let y = y0; y <= y1; y++) out.push({ key: String(y), label: String(y), title: y + ": " });
    } else if (level.length === 4) {
      for (let m = 1; m <= 12; m++) out.push({ key: level + "-" + pad(m), label: MONTHS[m - 1], title: MONTHS[m - 1] + " " + level + ": " });
    } else if (level.length === 7) {
      const [y, m] = level.split("-").map(Number);
      const n = new Date(Date.UTC(y, m, 0)).getUTCDate();
      for (let d = 1; d <= n; d++) out.push({ key: level + "-" + pad(d), label: String(d), title: level + "-" + pad(d) + ": " });
    } else {
      for (let h = 0; h < 24; h++) out.push({ key: level + "T" + pad(h), label: pad(h), title: level + " " + pad(h) + ":00: " });
    }
    out.forEach((s) => { s.count = sum(s.key); s.title += s.count + " photo" + (s.count === 1 ? "" : "s"); });
    return out;
  }

  function hourUrl(key) {
    const day = key.slice(0, 10); const h = Number(key.slice(11, 13));
    return "/?" + new URLSearchParams({ date_from: day, date_to: day, hour_from: String(h), hour_to: String(h + 1) });
  }

  function show(level) {
    const list = slots(level);
    const max = Math.max(1, ...list.map((s) => s.count));
    cal.dataset.level = ["all", "", "", "", "year", "", "", "month", "", "", "day"][level.length];
    cal.dataset.key = level;
    const bars = list.map((s) => {
      const b = el("button", { type: "button", class: "slot" + (s.count ? "" : " empty"), "data-key": s.key,
        "data-count": String(s.count), title: s.title, "aria-label": s.title });
      const bar = el("span", { class: "bar" });
      bar.style.height = (s.count ? Math.max(4, Math.round(100 * Math.sqrt(s.count / max))) : 0) + "%";
      b.append(el("span", { class: "n" }, s.count || ""), bar, el("span", { class: "label" }, s.label));
      if (!s.count) b.disabled = true;
      else if (level.length === 10) b.addEventListener("click", () => { location.href = hourUrl(s.key); });
      else b.addEventListener("click", () => show(s.key));
      return b;
    });
    cal.replaceChildren(...bars);
    const parts = [el("button", { type: "button", class: "crumb", "data-key": "" }, "All years")];
    if (level.length >= 4) parts.push(el("button", { type: "button", class: "crumb", "data-key": level.slice(0, 4) }, level.slice(0, 4)));
    if (level.length >= 7) parts.push(el("button", { type: "button", class: "crumb", "data-key": level.slice(0, 7) }, MONTHS[Number(level.slice(5, 7)) - 1]));
    if (level.length === 10) {
      parts.push(el("span", { class: "crumb-day" }, level.slice(8, 10)));
      parts.push(el("a", { class: "day-link", href: "/day/" + level }, "Day view of " + level));
      parts.push(el("a", { class: "day-search", href: "/?" + new URLSearchParams({ date_from: level, date_to: level }) }, "Search this day"));
    }
    parts.forEach((p) => { if (p.tagName === "BUTTON") p.addEventListener("click", () => show(p.dataset.key)); });
    crumbs.replaceChildren(...parts.flatMap((p, i) => (i ? [" › ", p] : [p])));
    if (note) {
      const n = level ? sum(level) : data.read;
      note.textContent = n + " photo" + (n === 1 ? "" : "s") + (level ? " in " + level : " with a time") +
        " · click a bar to zoom in" + (level.length === 10 ? "; an hour searches it" : "") +
        (data.read < data.total ? " · first " + data.read + " of " + data.total + " photos read" : "");
    }
  }

  function placeMap() {
    if (!mapEl || !window.L) return;
    if (!data.places.length) { mapEl.classList.add("empty"); mapEl.textContent = "No geotagged photos"; return; }
    const map = window.L.map(mapEl, { attributionControl: false, worldCopyJump: true });
    if (window.lifeseekerBasemap) window.lifeseekerBasemap(map, mapEl);
    const max = Math.max(...data.places.map((p) => p.count));
    const pts = data.places.map((p) => {
      const ll = [p.lat, p.lon];
      const m = window.L.circleMarker(ll, { radius: 5 + 9 * Math.sqrt(p.count / max), weight: 1.5, color: "#a8390f",
        fillColor: "#e66100", fillOpacity: 0.75, className: "place-marker" }).addTo(map);
      m.bindTooltip(el("span", {}, (p.name || "unnamed place") + " · " + p.count + " photo" + (p.count === 1 ? "" : "s") +
        (p.first ? " · from " + p.first : "")), { direction: "auto", className: "result-tip" });
      m.on("click", () => {
        location.href = "/?" + new URLSearchParams({ near: p.lat.toFixed(5) + "," + p.lon.toFixed(5), radius_km: "2" });
      });
      return ll;
    });
    if (pts.length === 1) map.setView(pts[0], 12); else map.fitBounds(pts, { padding: [24, 24], maxZoom: 13 });
    mapEl.dataset.places = String(pts.length);
  }

  fetch("/api/overview", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
    .then((body) => {
      data = body;
      if (!data.first) { cal.textContent = "No dated photos yet."; } else {
        show(data.first.slice(0, 4) === data.last.slice(0, 4) ? data.first.slice(0, 4) : "");
      }
      placeMap();
    })
    .catch((err) => { cal.textContent = "Cannot load the overview: " + err.message; });
})();
