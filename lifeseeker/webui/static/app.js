// lifeseeker search page (progressive enhancement: the page works without it).
// - detail panel: a result's server-rendered, escaped markup is copied by cloning its <template>; images opened
//   from the temporal context are built from /api/image JSON with DOM APIs and textContent only (never innerHTML);
// - temporal context strip (/api/context/<id>?minutes=T) with a slider for T and keyboard navigation;
// - relevance feedback marks kept as hidden inputs of the search form; "Re-search with feedback" submits it;
// - map (vendored Leaflet; tiles only when the server configures a tiles URL) and per-day timeline, both filter
//   the event rows on click;
// - a visible progress indicator while a search runs.
(function () {
  "use strict";
  const panel = document.getElementById("detail");
  const form = document.getElementById("search");
  const busy = document.getElementById("busy");
  const cards = Array.from(document.querySelectorAll(".card"));
  const CONTEXT_MINUTES = [5, 10, 15, 30, 60, 120, 240, 480, 720];
  const DEFAULT_CONTEXT = 3; // 30 min
  let current = null;
  let contextIndex = DEFAULT_CONTEXT;

  function idPath(id) { return id.split("/").map(encodeURIComponent).join("/"); }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) e.setAttribute(k, v); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isVisible(e) { // closed <details> keep their content laid out in Chromium: ask the browser
    if (e.checkVisibility) return e.checkVisibility();
    return !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && !e.closest("details:not([open]) > :not(summary)");
  }
  function showBusy() { if (busy) busy.hidden = false; }
  window.addEventListener("pageshow", () => { if (busy) busy.hidden = true; });

  // ---- notices: one line; the service's own notices are shown once, then only behind the header's button ----
  const noticesBox = document.getElementById("notices");
  const noticesBtn = document.getElementById("notices-btn");
  if (noticesBox && noticesBox.dataset.seen) {
    const key = "lifeseeker.notices.seen";
    let seen = null;
    try { seen = window.localStorage.getItem(key); window.localStorage.setItem(key, noticesBox.dataset.seen); }
    catch (err) { seen = null; }
    if (seen === noticesBox.dataset.seen) {
      const service = Array.from(noticesBox.querySelectorAll(".notice-item[data-kind=service]"));
      service.forEach((n) => { n.hidden = true; });
      const left = Array.from(noticesBox.querySelectorAll(".notice-item")).filter((n) => !n.hidden);
      if (left.length) {
        noticesBox.querySelector("summary .count").textContent = left.length + (left.length === 1 ? " notice" : " notices");
        noticesBox.querySelector("summary .first").textContent = left[0].querySelector(".notice").textContent;
      } else {
        noticesBox.hidden = true;
      }
      if (noticesBtn) {
        noticesBtn.hidden = false;
        noticesBtn.addEventListener("click", () => {
          service.forEach((n) => { n.hidden = false; });
          noticesBox.hidden = false;
          noticesBox.open = true;
        });
      }
    }
  }

  if (!panel) return; // pages without results (day view, ask) use none of what follows

  // ---- detail panel ---------------------------------------------------------------------------------------
  function openCard(card) {
    if (!card) return;
    current = card;
    cards.forEach((c) => c.classList.toggle("selected", c === card));
    const tpl = card.querySelector("template.detail");
    panel.replaceChildren(tpl.content.cloneNode(true));
    panel.hidden = false;
    const ctx = panel.querySelector(".context");
    if (ctx) loadContext(ctx, ctx.dataset.id);
    card.focus();
  }

  function likeUrl(id) {
    const params = new URLSearchParams(location.search);
    ["q", "relevant", "irrelevant", "like", "then", "within"].forEach((k) => params.delete(k));
    params.set("like", id);
    return "?" + params.toString();
  }

  function place(doc) {
    const parts = [doc.locality, doc.city, doc.region, doc.country].filter((p, i, a) => p && a.indexOf(p) === i);
    return parts.join(", ") || "—";
  }

  function openDoc(id) {
    fetch("/api/image/" + idPath(id), { headers: { Accept: "application/json" } })
      .then((r) => r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)))
      .then((doc) => {
        cards.forEach((c) => c.classList.toggle("selected", c.dataset.id === id));
        const frag = document.createDocumentFragment();
        frag.append(el("img", { class: "full", src: "/image/" + idPath(id), alt: doc.path || id }));
        const actions = el("p", { class: "actions" });
        const like = el("a", { class: "navsearch like", href: likeUrl(id) }, "More like this");
        like.addEventListener("click", showBusy);
        actions.append(like);
        frag.append(actions);
        const dl = el("dl");
        const rows = [["Image", (doc.collection || "") + "/" + (doc.path || "")],
          ["Time", doc.local_time ? doc.local_time.replace("T", " ") + (doc.part_of_day ? " · " + doc.part_of_day : "") : "—"],
          ["Place", place(doc)], ["Tags", (doc.tags || []).join(", ") || "—"],
          ["OCR", doc.ocr_text || "—"], ["CapMeta", doc.capmeta || "—"]];
        rows.forEach(([k, v]) => { dl.append(el("dt", {}, k), el("dd", {}, v)); });
        frag.append(dl);
        const ctx = el("section", { class: "context", "data-id": id });
        frag.append(ctx);
        panel.replaceChildren(frag);
        panel.hidden = false;
        loadContext(ctx, id, true);
      })
      .catch((err) => { panel.replaceChildren(el("p", { class: "error" }, "Cannot open " + id + ": " + err.message)); });
  }

  // ---- temporal context -----------------------------------------------------------------------------------
  function loadContext(section, id, focusStrip, focusRange) {
    const minutes = CONTEXT_MINUTES[contextIndex];
    const label = el("label", { class: "ctx-label" });
    const out = el("output", {}, "± " + minutes + " min");
    const range = el("input", { type: "range", min: "0", max: String(CONTEXT_MINUTES.length - 1), step: "1",
      value: String(contextIndex), "aria-label": "context window" });
    label.append("Context ", out, " ", range);
    const strip = el("ol", { class: "strip", "aria-label": "images around this one, in time order" });
    const status = el("p", { class: "ctx-status" }, "Loading context…");
    section.replaceChildren(label, strip, status);
    range.addEventListener("input", () => { out.textContent = "± " + CONTEXT_MINUTES[Number(range.value)] + " min"; });
    range.addEventListener("change", () => { contextIndex = Number(range.value); loadContext(section, id, false, true); });
    if (focusRange) range.focus();
    fetch("/api/context/" + idPath(id) + "?minutes=" + minutes, { headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => (r.ok ? body : Promise.reject(new Error(body.error || ("HTTP " + r.status))))))
      .then((body) => {
        const items = body.images.map((doc, i) => {
          const li = el("li");
          const b = el("button", { type: "button", class: "ctx-item", "data-id": doc.image_id,
            tabindex: i === body.index ? "0" : "-1", "aria-current": i === body.index ? "true" : null,
            title: doc.local_time ? doc.local_time.replace("T", " ") : doc.image_id });
          b.append(el("img", { src: doc.thumb_url, alt: doc.path || doc.image_id, loading: "lazy" }),
            el("span", { class: "t" }, doc.local_time ? doc.local_time.slice(11, 16) : "—"));
          b.addEventListener("click", () => openDoc(doc.image_id));
          li.append(b);
          return li;
        });
        strip.replaceChildren(...items);
        status.textContent = body.images.length + " images within ± " + minutes + " min" +
          (body.truncated ? " (window trimmed)" : "") + " · ←/→ to move, Enter to open";
        const centre = strip.querySelector("[aria-current=true]");
        if (centre) {
          centre.scrollIntoView({ block: "nearest", inline: "center" });
          if (focusStrip) centre.focus();
        }
      })
      .catch((err) => { status.textContent = "No temporal context: " + err.message; });
  }

  panel.addEventListener("keydown", (e) => {
    const item = e.target.closest && e.target.closest(".ctx-item");
    if (!item) return;
    const items = Array.from(panel.querySelectorAll(".ctx-item"));
    let i = items.indexOf(item);
    if (e.key === "ArrowRight") i += 1;
    else if (e.key === "ArrowLeft") i -= 1;
    else if (e.key === "Home") i = 0;
    else if (e.key === "End") i = items.length - 1;
    else return;
    e.preventDefault();
    e.stopPropagation();
    i = Math.max(0, Math.min(items.length - 1, i));
    items.forEach((b, j) => b.setAttribute("tabindex", j === i ? "0" : "-1"));
    items[i].focus();
  });

  // ---- results: click and keyboard ------------------------------------------------------------------------
  cards.forEach((card) => {
    card.addEventListener("click", (e) => { if (!e.target.closest(".mark")) openCard(card); });
    card.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target === card) openCard(card); });
  });

  // ---- keyboard-first (the help overlay, "?", lists the keys) ------------------------------------------------
  const help = document.getElementById("help");
  const searchBox = form ? form.querySelector("input[name=q]") : null;
  function setHelp(open) {
    if (!help) return;
    help.hidden = !open;
    if (open) { const c = document.getElementById("help-close"); if (c) c.focus(); } else if (current) current.focus();
  }
  const helpBtn = document.getElementById("help-btn");
  if (helpBtn) helpBtn.addEventListener("click", () => setHelp(help && help.hidden));
  const helpClose = document.getElementById("help-close");
  if (helpClose) helpClose.addEventListener("click", () => setHelp(false));

  function select(card) { // move the selection (and the open detail, if any) to ``card``
    if (!card) return;
    if (!panel.hidden) { openCard(card); return; }
    current = card;
    cards.forEach((c) => c.classList.toggle("selected", c === card));
    card.focus();
    card.scrollIntoView({ block: "nearest" });
  }
  function vertical(visible, from, dir) { // the card in the next row up/down nearest in x
    const r = from.getBoundingClientRect();
    const cx = r.left + r.width / 2;
    let best = null; let bestKey = null;
    visible.forEach((c) => {
      const q = c.getBoundingClientRect();
      const dy = dir > 0 ? q.top - r.bottom : r.top - q.bottom;
      if (dy < -2) return;
      const key = [Math.round(dy / 8), Math.abs(q.left + q.width / 2 - cx)];
      if (!best || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) { best = c; bestKey = key; }
    });
    return best;
  }
  let toastTimer = null;
  function toast(text) {
    let t = document.getElementById("toast");
    if (!t) { t = el("p", { id: "toast", role: "status", class: "toast" }); document.body.append(t); }
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }
  function appendHint() { // a KIS task's next hint, typed as it is shown, appended to the query; marks kept
    if (!form || !searchBox) return;
    let box = document.getElementById("hintbox");
    if (!box) {
      box = el("form", { id: "hintbox", class: "hintbox" });
      const input = el("input", { type: "text", name: "hint", "aria-label": "next hint", placeholder: "next hint, Enter to add it to the query" });
      box.append(el("label", {}, "Next hint "), input);
      box.addEventListener("submit", (e) => {
        e.preventDefault();
        const hint = input.value.trim();
        if (!hint) return;
        const q = searchBox.value.trim();
        searchBox.value = q ? q + " " + hint : hint;
        form.requestSubmit();
      });
      input.addEventListener("keydown", (e) => { if (e.key === "Escape") { box.remove(); if (current) current.focus(); } });
      form.after(box);
    }
    box.querySelector("input").focus();
  }

  if (searchBox) searchBox.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || (e.key === "Escape" && cards.length)) {
      const first = current || cards.filter(isVisible)[0];
      if (first) { e.preventDefault(); select(first); }
    }
  });

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      if (help && !help.hidden) { setHelp(false); return; }
      panel.hidden = true;
      if (current) current.focus();
      return;
    }
    if (e.key === "?") { e.preventDefault(); setHelp(help && help.hidden); return; }
    if (help && !help.hidden) return;
    if (e.key === "/") { if (searchBox) { e.preventDefault(); searchBox.focus(); searchBox.select(); } return; }
    if (e.key === "h") { e.preventDefault(); appendHint(); return; }
    if (e.key === "r") { const b = document.getElementById("research"); if (b && !b.disabled) b.click(); return; }
    if (t.closest && t.closest(".context")) return; // the strip has its own arrows
    const visible = cards.filter(isVisible);
    if (!visible.length) return;
    const sel = visible.includes(current) ? current : null;
    const i = visible.indexOf(sel);
    if (e.key === "ArrowRight") { e.preventDefault(); select(visible[i + 1] || visible[0]); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); select(visible[Math.max(0, i - 1)]); }
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      select(sel ? (vertical(visible, sel, e.key === "ArrowDown" ? 1 : -1) || sel) : visible[0]);
    } else if (!sel) return;
    else if (e.key === "Enter" && t !== sel) openCard(sel);
    else if (e.key === "+" || e.key === "=") sel.querySelector(".mark.rel").click();
    else if (e.key === "-") sel.querySelector(".mark.irr").click();
    else if (e.key === "s") {
      const submit = sel.querySelector("button.dres-submit");
      if (submit) submit.click(); else toast("DRES is not configured: nothing submitted");
    }
  });

  // ---- relevance feedback ---------------------------------------------------------------------------------
  const marks = new Map();
  if (form) {
    form.querySelectorAll("input[type=hidden][name=relevant]").forEach((i) => marks.set(i.value, "relevant"));
    form.querySelectorAll("input[type=hidden][name=irrelevant]").forEach((i) => marks.set(i.value, "irrelevant"));
  }
  const markcount = document.getElementById("markcount");

  function syncMarks() {
    if (!form) return;
    form.querySelectorAll("input[type=hidden][name=relevant], input[type=hidden][name=irrelevant]")
      .forEach((i) => i.remove());
    marks.forEach((kind, id) => form.append(el("input", { type: "hidden", name: kind, value: id })));
    cards.forEach((c) => {
      const kind = marks.get(c.dataset.id);
      if (kind) c.dataset.mark = kind; else delete c.dataset.mark;
      c.querySelector(".mark.rel").setAttribute("aria-pressed", kind === "relevant" ? "true" : "false");
      c.querySelector(".mark.irr").setAttribute("aria-pressed", kind === "irrelevant" ? "true" : "false");
    });
    let rel = 0; let irr = 0;
    marks.forEach((k) => { if (k === "relevant") rel += 1; else irr += 1; });
    if (markcount) {
      markcount.textContent = rel || irr ? rel + " marked relevant, " + irr + " not relevant"
        : "Mark images + (relevant) or − (not relevant), then re-search.";
    }
    const research = document.getElementById("research");
    if (research) research.disabled = !(rel || irr);
  }

  cards.forEach((card) => {
    card.querySelectorAll(".mark").forEach((btn) => {
      btn.addEventListener("click", (e) => {
        e.stopPropagation();
        const kind = btn.classList.contains("rel") ? "relevant" : "irrelevant";
        if (marks.get(card.dataset.id) === kind) marks.delete(card.dataset.id);
        else marks.set(card.dataset.id, kind);
        syncMarks();
      });
    });
  });
  const research = document.getElementById("research");
  if (research && form) research.addEventListener("click", () => { form.requestSubmit(); });
  const clearmarks = document.getElementById("clearmarks");
  if (clearmarks) clearmarks.addEventListener("click", () => { marks.clear(); syncMarks(); });
  syncMarks();

  // ---- progress indicator ---------------------------------------------------------------------------------
  if (form) form.addEventListener("submit", () => {
    // drop empty fields so the URL stays readable and shareable
    Array.from(form.elements).forEach((f) => { if (f.name && !f.value) f.disabled = true; });
    showBusy();
  });
  const imgform = document.getElementById("imgsearch");
  if (imgform) imgform.addEventListener("submit", showBusy);
  document.querySelectorAll("a.navsearch").forEach((a) => a.addEventListener("click", showBusy));
  panel.addEventListener("click", (e) => { if (e.target.closest && e.target.closest("a.navsearch")) showBusy(); });

  // ---- filtering the rows (map and timeline) --------------------------------------------------------------
  const rows = Array.from(document.querySelectorAll("ol.events > li.event, ol.pairs > li.pair"));
  const chip = document.getElementById("filterchip");
  function rowEvent(row) { return row.classList.contains("pair") ? row.querySelector(".event") : row; }
  function applyFilter(label, keep) {
    rows.forEach((row) => { row.hidden = !keep(rowEvent(row)); });
    if (chip) { chip.querySelector(".text").textContent = label; chip.hidden = false; }
  }
  function clearFilter() {
    rows.forEach((row) => { row.hidden = false; });
    if (chip) chip.hidden = true;
    document.querySelectorAll("#timeline .day").forEach((d) => d.setAttribute("aria-pressed", "false"));
  }
  const clearBtn = document.getElementById("clearfilter");
  if (clearBtn) clearBtn.addEventListener("click", clearFilter);

  // timeline
  const days = Array.from(document.querySelectorAll("#timeline .day"));
  const maxCount = Math.max(1, ...days.map((d) => Number(d.dataset.count)));
  const timelineEl = document.getElementById("timeline");
  const barSpace = timelineEl ? Math.max(40, timelineEl.clientHeight - 40) : 100; // px left above the labels
  days.forEach((d) => {
    d.querySelector(".bar").style.height = Math.max(3, Math.round(barSpace * Number(d.dataset.count) / maxCount)) + "px";
    d.setAttribute("aria-pressed", "false");
    d.addEventListener("click", () => {
      if (d.getAttribute("aria-pressed") === "true") { clearFilter(); return; }
      clearFilter();
      d.setAttribute("aria-pressed", "true");
      applyFilter("Day " + d.dataset.date, (ev) => ev.dataset.date === d.dataset.date);
    });
  });

  const busiest = days.find((d) => Number(d.dataset.count) === maxCount);
  if (timelineEl && busiest && timelineEl.scrollWidth > timelineEl.clientWidth) { // show the busiest day
    timelineEl.scrollLeft = Math.max(0, busiest.offsetLeft - timelineEl.offsetLeft - timelineEl.clientWidth / 2);
  }

  // map
  const mapEl = document.getElementById("map");
  const KM_PER_DEG = 111.195;
  function km(a, b) {
    const dx = (a[1] - b[1]) * Math.cos((a[0] + b[0]) * Math.PI / 360);
    return KM_PER_DEG * Math.hypot(a[0] - b[0], dx);
  }
  if (mapEl && window.L) {
    const located = rows.map(rowEvent).filter((ev) => ev.dataset.lat && ev.dataset.lon);
    if (!located.length) {
      mapEl.classList.add("empty");
      mapEl.textContent = "No geotagged results";
    } else {
      const map = window.L.map(mapEl, { attributionControl: false, worldCopyJump: true });
      if (window.lifeseekerBasemap) window.lifeseekerBasemap(map, mapEl); // basemap.js: tiles or offline atlas
      else mapEl.classList.add("blank");
      const points = [];
      located.forEach((ev) => {
        const ll = [Number(ev.dataset.lat), Number(ev.dataset.lon)];
        points.push(ll);
        const marker = window.L.circleMarker(ll, { radius: 7, weight: 2, color: "#1a5fb4", fillColor: "#3584e4",
          fillOpacity: 0.8, className: "result-marker" }).addTo(map);
        const head = ev.querySelector(".event-head");
        const tip = el("span", {}, head ? head.textContent.replace(/\s+/g, " ").trim() : ev.dataset.event);
        marker.bindTooltip(tip, { direction: "auto", className: "result-tip" });
        marker.on("click", () => {
          clearFilter();
          applyFilter("Near " + ll[0].toFixed(4) + ", " + ll[1].toFixed(4),
            (e2) => e2.dataset.lat && km(ll, [Number(e2.dataset.lat), Number(e2.dataset.lon)]) <= 0.5);
        });
      });
      if (points.length === 1) map.setView(points[0], 14);
      else map.fitBounds(points, { padding: [20, 20], maxZoom: 15 });
    }
  }
})();
