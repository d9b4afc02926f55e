// The dashboard of crawlctl serve in headless Chromium (Debian's), driven by playwright-core:
//   node dashboard_test.mjs BASE_URL SEED_URL HOSTILE_JOB SCREENSHOT
// Submits a fast job through the form and waits until the jobs table shows it finished, with
// the workers; submits a slow one and pauses it with its button; reads the hostile job's name
// as the page shows it. Prints one JSON object: what it saw, every console error, failed or
// refused request, and dialog; the caller judges (and checks Redis).
import { chromium } from "playwright-core";

const [base, seed, hostileJob, screenshot] = process.argv.slice(2);
const out = { errors: [], dialogs: 0, requests: [] };
const browser = await chromium.launch({
  executablePath: process.env.CRAWL_CHROMIUM || "/usr/bin/chromium",
  // --disable-dev-shm-usage: a container's /dev/shm is small or absent (Docker: 64 MB).
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") out.errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => out.errors.push("page: " + e.message));
  page.on("requestfailed", (r) => out.errors.push("failed: " + r.url()));
  page.on("response", (r) => { if (r.status() >= 400) out.errors.push(`${r.status()}: ${r.url()}`); });
  page.on("request", (r) => out.requests.push(r.method() + " " + r.url()));
  page.on("dialog", async (d) => { out.dialogs += 1; await d.dismiss(); });

  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("#workers tbody tr[data-worker]", { timeout: 20000 });
  out.workers = await page.$$eval("#workers tbody tr", (rows) => rows.map((r) => r.dataset.worker));

  // A fast job through the form (the test site is ours), seen progressing to finished.
  await page.fill("textarea[name=urls]", seed);
  await page.fill("input[name=job_name]", "from the form");
  await page.fill("input[name=delay_ms]", "0");
  await page.fill("input[name=host_concurrency]", "16");
  await page.click("#submit button[type=submit]");
  await page.waitForFunction(() => /job \d+ created/.test(document.querySelector("#submit-result").textContent), null, { timeout: 20000 });
  out.fast = (await page.textContent("#submit-result")).match(/job (\d+) created/)[1];
  out.fast_states = [];
  const row = `#jobs tr[data-job="${out.fast}"]`;
  await page.waitForSelector(row, { timeout: 20000 });
  out.fast_states.push(await page.getAttribute(row, "data-state"));
  await page.waitForSelector(`${row}[data-state="finished"]`, { timeout: 120000 });
  out.fast_states.push("finished");

  // A slow job (a minute between requests to its site), paused with its button.
  await page.fill("textarea[name=urls]", [1, 2, 3].map((n) => `${seed}?page=${n}`).join("\n"));
  await page.fill("input[name=job_name]", "to pause");
  await page.fill("input[name=delay_ms]", "60000");
  await page.fill("input[name=host_concurrency]", "1");
  await page.click("#submit button[type=submit]");
  await page.waitForFunction((fast) => {
    const m = document.querySelector("#submit-result").textContent.match(/job (\d+) created/);
    return m && m[1] !== fast;
  }, out.fast, { timeout: 20000 });
  out.slow = (await page.textContent("#submit-result")).match(/job (\d+) created/)[1];
  const pause = `#jobs tr[data-job="${out.slow}"] button[data-action="pause"]`;
  await page.waitForSelector(pause, { timeout: 20000 });
  await page.click(pause);
  await page.waitForSelector(`#jobs tr[data-job="${out.slow}"][data-state="paused"]`, { timeout: 20000 });

  // The hostile job's name, as the page shows it.
  out.hostile_name = await page.textContent(`#jobs tr[data-job="${hostileJob}"] td.name`);
  out.images_in_jobs = await page.$$eval("#jobs img", (imgs) => imgs.length);
  await page.waitForTimeout(500);  // a handler that would fire late still gets its chance
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  out.errors.push("test: " + e.message);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
