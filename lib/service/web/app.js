// The dashboard of crawlctl serve: polls the REST API every 2 s and draws jobs, workers, a job's
// sites and a pages/s chart. Everything that came from Redis or a crawled page (names, titles,
// URLs, host names) reaches the page as text (textContent, SVG text nodes), never as markup.
"use strict";

const POLL_MS = 2000;
const HISTORY_MS = 10 * 60 * 1000;  // the chart's span
const COLORS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2"];

let selectedJob = null;
const history = new Map();  // series name -> [[time ms, pages/s], ...]

function token() { return sessionStorage.getItem("crawl-token") || ""; }

async function api(method, path, body) {
  const headers = {};
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store", credentials: "same-origin",
  });
  if (response.status === 401) document.getElementById("token-section").hidden = false;
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// An element with text (never HTML) and attributes.
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function num(n) { return n === undefined || n === null ? "-" : Number(n).toLocaleString("en"); }
function rate(r) { return r ? r.toFixed(1) : "0"; }
function bytes(b) {
  if (!b) return "-";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; ++i; }
  return b.toFixed(i ? 1 : 0) + " " + units[i];
}
function duration(s) {
  if (s === null || s === undefined) return "-";
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}
function ago(ms) { return ms === undefined || ms < 0 ? "-" : (ms / 1000).toFixed(1) + " s ago"; }

function showError(message) {
  const e = document.getElementById("error");
  e.textContent = message || "";
  e.hidden = !message;
}

function record(series, at, value) {
  if (!history.has(series)) history.set(series, []);
  const points = history.get(series);
  points.push([at, value]);
  while (points.length && points[0][0] < at - HISTORY_MS) points.shift();
}

function drawChart() {
  const svg = document.getElementById("chart");
  const legend = document.getElementById("legend");
  svg.replaceChildren();
  legend.replaceChildren();
  const now = Date.now();
  // The fleet, and the jobs that moved in the span.
  const series = [...history.entries()].filter(([name, points]) =>
    name === "fleet" || points.some(([, v]) => v > 0)).slice(0, COLORS.length);
  let max = 1;
  for (const [, points] of series) for (const [, v] of points) max = Math.max(max, v);
  const ns = "http://www.w3.org/2000/svg";
  series.forEach(([name, points], i) => {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(([t, v]) =>
      `${(600 * (1 - (now - t) / HISTORY_MS)).toFixed(1)},${(155 - 145 * v / max).toFixed(1)}`).join(" "));
    line.setAttribute("stroke", COLORS[i]);
    svg.appendChild(line);
    const item = el("span", name === "fleet" ? "fleet" : "job " + name);
    const swatch = el("i");
    swatch.style.background = COLORS[i];
    item.prepend(swatch);
    legend.appendChild(item);
  });
  legend.appendChild(el("span", `top of the chart: ${rate(max)} pages/s; the last 10 minutes`,
                        { class: "muted" }));
}

function controlButton(job, action) {
  const b = el("button", action, { "data-action": action, "data-job": job.id });
  b.addEventListener("click", async (event) => {
    event.stopPropagation();
    try { await api("POST", `/jobs/${encodeURIComponent(job.id)}/${action}`, {}); showError(""); }
    catch (e) { showError(`${action} job ${job.id}: ${e.message}`); }
    refresh();
  });
  return b;
}

function renderJobs(jobs) {
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren();
  const at = Date.now();
  for (const job of jobs) {
    const c = job.counters || {};
    const ended = (c.done || 0) + (c.failed || 0) + (c.filtered || 0);
    const total = ended + (c.queued || 0) + (c.in_flight || 0);
    const row = el("tr", null, { "data-job": job.id, "data-state": job.state });
    if (job.id === selectedJob) row.className = "selected";
    row.appendChild(el("td", job.id));
    row.appendChild(el("td", job.name || "", { class: "name", title: job.name || "" }));
    row.appendChild(el("td", job.problem ? `${job.state}: ${job.problem}` : job.state,
                       { class: "state-" + job.state.replace(" ", "-") }));
    const bar = el("div", null, { class: "bar", title: `${num(ended)} of ${num(total)} URLs` });
    const fill = el("span");
    fill.style.width = (total ? (100 * ended / total) : 0).toFixed(1) + "%";
    bar.appendChild(fill);
    const cell = el("td");
    cell.appendChild(bar);
    row.appendChild(cell);
    row.appendChild(el("td", num(c.done), { class: "num" }));
    row.appendChild(el("td", num(c.failed), { class: "num" }));
    row.appendChild(el("td", num(c.queued), { class: "num" }));
    row.appendChild(el("td", rate(job.pages_per_second), { class: "num" }));
    row.appendChild(el("td", duration(job.eta_seconds)));
    const actions = el("td");
    if (job.state !== "cancelled" && job.state !== "cancelling") {
      actions.appendChild(controlButton(job, job.state === "paused" ? "resume" : "pause"));
      if (job.state !== "finished") actions.appendChild(controlButton(job, "cancel"));
    }
    row.appendChild(actions);
    row.addEventListener("click", () => { selectedJob = job.id; refresh(); });
    body.appendChild(row);
    if (!job.finished) record(job.id, at, job.pages_per_second || 0);
    else record(job.id, at, 0);
  }
}

function renderWorkers(data) {
  const body = document.querySelector("#workers tbody");
  body.replaceChildren();
  let fleet = 0;
  for (const w of data.workers) {
    const row = el("tr", null, { "data-worker": w.id });
    if (w.problem) row.className = "problem";
    const errors = w.errors ? Object.values(w.errors).reduce((a, b) => a + b, 0) : 0;
    row.appendChild(el("td", w.host));
    row.appendChild(el("td", w.id));
    row.appendChild(el("td", w.problem && w.why ? `${w.state}: ${w.why}` : w.state,
                       { class: "state-" + w.state }));
    row.appendChild(el("td", rate(w.pages_per_second), { class: "num" }));
    row.appendChild(el("td", num(w.pages), { class: "num" }));
    row.appendChild(el("td", num(w.in_flight), { class: "num" }));
    row.appendChild(el("td", num(errors), { class: "num" }));
    row.appendChild(el("td", bytes(w.rss_bytes), { class: "num" }));
    row.appendChild(el("td", ago(w.heartbeat_age_ms)));
    body.appendChild(row);
    if (w.alive) fleet += w.pages_per_second || 0;
  }
  record("fleet", Date.now(), fleet);
  const problems = document.getElementById("problems");
  problems.replaceChildren(...(data.problems || []).map((p) => el("li", p)));
}

function renderSites(data) {
  document.getElementById("sites-section").hidden = false;
  document.getElementById("sites-job").textContent = data.id;
  const body = document.querySelector("#sites tbody");
  body.replaceChildren();
  const now = data.at_ms;
  for (const s of data.busiest_sites) {
    const row = el("tr");
    row.appendChild(el("td", s.site, { class: "name", title: s.site }));
    row.appendChild(el("td", num(s.queued), { class: "num" }));
    row.appendChild(el("td", num(s.in_flight), { class: "num" }));
    row.appendChild(el("td", s.waiting_for_slot ? "when a request ends"
                       : s.next_ms ? (s.next_ms <= now ? "now" : duration((s.next_ms - now) / 1000)) : "-"));
    row.appendChild(el("td", num(s.failures_in_a_row), { class: "num" }));
    let why = "";
    if (s.backoff_until_ms) why = `backing off: ${s.backoff_reason || "?"}`;
    else if (s.given_up_until_ms) why = "given up for now";
    else if (s.crawl_delay_ms) why = `Crawl-delay ${s.crawl_delay_ms} ms`;
    row.appendChild(el("td", why));
    body.appendChild(row);
  }
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [jobs, workers] = await Promise.all([api("GET", "/jobs?last=20"), api("GET", "/workers")]);
    renderJobs(jobs.jobs);
    renderWorkers(workers);
    if (selectedJob === null && jobs.jobs.length) selectedJob = jobs.jobs[0].id;
    if (selectedJob !== null) renderSites(await api("GET", `/jobs/${encodeURIComponent(selectedJob)}/sites?n=10`));
    drawChart();
    document.getElementById("redis").textContent = `updated ${new Date().toLocaleTimeString()}`;
    showError("");
  } catch (e) {
    showError(e.message);
  } finally {
    refreshing = false;
  }
}

function setUpForms() {
  document.getElementById("submit").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const out = document.getElementById("submit-result");
    const body = { urls: form.urls.value.split("\n").map((u) => u.trim()).filter((u) => u) };
    // Only what was filled in: the rest is the server's (its hosts file's, else the defaults).
    if (form.job_name.value) body.name = form.job_name.value;
    if (form.scope.value) body.scope = form.scope.value;
    for (const field of ["max_depth", "max_pages", "delay_ms", "host_concurrency"])
      if (form[field].value.trim() !== "") body[field] = Number(form[field].value);
    try {
      const created = await api("POST", "/jobs", body);
      out.textContent = `job ${created.id} created: ${created.queued} URLs queued`;
      selectedJob = created.id;
      form.urls.value = "";
      refresh();
    } catch (e) {
      out.textContent = e.message;
    }
  });
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("crawl-token", event.target.token.value);
    document.getElementById("token-section").hidden = true;
    refresh();
  });
}

setUpForms();
refresh();
setInterval(refresh, POLL_MS);
