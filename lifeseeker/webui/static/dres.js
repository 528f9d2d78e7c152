// DRES submission on any lifeseeker page (progressive enhancement; the page works without it).
// When the server has DRES configured (GET /api/dres/status): every element carrying data-id (result cards, event
// images) gets a "Submit" button; every element carrying data-answer, or of class answer-text (question answers),
// a "Submit answer" button; a small bar offers a free-text answer and shows the running task. The verdict
// (CORRECT / WRONG / INDETERMINATE / UNDECIDABLE) or the error is shown next to the button as plain text
// (textContent only, never markup). The shown result list is sent once to DRES's result log (POST /api/dres/log).
(function () {
  "use strict";
  const script = document.currentScript;
  const root = script ? new URL(script.src, location.href).pathname.replace(/static\/dres\.js$/, "") : "/";
  const api = (path) => root + "api/dres/" + path;
  const COLOURS = { CORRECT: "#176b1d", WRONG: "#a31515", INDETERMINATE: "#805b00", UNDECIDABLE: "#555" };

  function postJson(path, body) {
    return fetch(api(path), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    }).then((resp) => resp.json().catch(() => ({ error: "HTTP " + resp.status }))
      .then((data) => ({ ok: resp.ok, status: resp.status, data: data })));
  }

  function show(out, res) {
    out.style.fontWeight = "bold";
    if (!res.ok) {
      out.textContent = "Error: " + (res.data && res.data.error ? res.data.error : "HTTP " + res.status);
      out.style.color = COLOURS.WRONG;
      return;
    }
    const v = res.data.verdict || "NO VERDICT";
    out.textContent = v + (res.data.pending ? " (awaiting judge)" : "") +
      (res.data.description ? " \u2014 " + res.data.description : "");
    out.style.color = COLOURS[v] || "inherit";
  }

  function submitter(button, out, body) {
    return (e) => {
      e.preventDefault();
      e.stopPropagation();  // the card's own click/Enter handlers open the detail panel
      button.disabled = true;
      out.style.color = "inherit";
      out.textContent = "Submitting\u2026";
      postJson("submit", body())
        .then((res) => show(out, res))
        .catch((err) => { show(out, { ok: false, status: 0, data: { error: String(err) } }); })
        .finally(() => { button.disabled = false; });
    };
  }

  function addButton(el, label, body) {
    if (el.dataset.dresEnhanced) return;
    el.dataset.dresEnhanced = "1";
    const box = document.createElement("span");
    box.className = "dres";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dres-submit";
    button.textContent = label;
    const out = document.createElement("span");
    out.className = "dres-verdict";
    out.setAttribute("role", "status");
    out.style.marginLeft = "0.4em";
    button.addEventListener("click", submitter(button, out, body));
    button.addEventListener("keydown", (e) => e.stopPropagation());
    box.append(button, out);
    el.appendChild(box);
  }

  function enhance(scope) {
    scope.querySelectorAll("[data-id]").forEach((el) => {
      addButton(el, "Submit", () => ({ image_id: el.dataset.id }));
    });
    scope.querySelectorAll("[data-answer], .answer-text").forEach((el) => {
      if (!el.dataset.answer && el.querySelector(".no-answer")) return;  // the QA page's "No answer"
      const text = el.dataset.answer || el.textContent.trim();
      addButton(el, "Submit answer", () => ({ text: text }));
    });
  }

  function bar(status) {
    const form = document.createElement("form");
    form.className = "dres-bar";
    form.style.margin = "0.5em 0";
    const label = document.createElement("span");
    label.textContent = "DRES " + (status.user || "") + " @ " + (status.url || "") + ": ";
    const input = document.createElement("input");
    input.type = "text";
    input.name = "dres_text";
    input.placeholder = "text answer";
    input.setAttribute("aria-label", "text answer for DRES");
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Submit text";
    const out = document.createElement("span");
    out.setAttribute("role", "status");
    out.style.marginLeft = "0.4em";
    const task = document.createElement("span");
    task.style.marginLeft = "1em";
    form.append(label, input, button, out, task);
    form.addEventListener("submit", (e) => {
      if (!input.value.trim()) { e.preventDefault(); out.textContent = "Type an answer first"; return; }
      submitter(button, out, () => ({ text: input.value }))(e);
    });
    fetch(api("task"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then((r) => r.json().then((d) => ({ ok: r.ok, d: d })))
      .then((r) => {
        task.textContent = r.ok ? "task: " + r.d.name + (r.d.task_type ? " (" + r.d.task_type + ")" : "")
          : "no running task (" + (r.d.error || "unknown") + ")";
      })
      .catch(() => { task.textContent = "task: unknown"; });
    return form;
  }

  function logShown() {
    const ids = Array.from(document.querySelectorAll("[data-id]")).map((el) => el.dataset.id);
    const unique = ids.filter((id, i) => ids.indexOf(id) === i).slice(0, 1000);
    if (!unique.length) return;
    const q = document.querySelector("input[name=q]");
    const params = {};
    new URLSearchParams(location.search).forEach((v, k) => { if (k !== "q" && v) params[k] = v; });
    postJson("log", { query: q ? q.value : "", image_ids: unique, params: params })
      .then((res) => { if (!res.ok && window.console) console.warn("DRES result log:", res.data.error); })
      .catch(() => {});
  }

  fetch(api("status"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then((r) => r.json())
    .then((status) => {
      if (!status.configured) return;
      const host = document.querySelector("header") || document.body;
      host.appendChild(bar(status));
      enhance(document);
      logShown();
      new MutationObserver((records) => {
        records.forEach((rec) => rec.addedNodes.forEach((n) => {
          if (n.nodeType !== 1) return;
          if (n.matches("[data-id], [data-answer], .answer-text")) enhance(n.parentNode || n);
          else enhance(n);
        }));
      }).observe(document.body, { childList: true, subtree: true });
    })
    .catch(() => {});
})();
