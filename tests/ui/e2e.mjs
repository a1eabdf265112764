// End-to-end test of the smev-gateway web UI in a real browser: Playwright (playwright-core)
// driving Debian's Chromium, headless, against a gateway in dev mode with its mock SMEV.
//
// Environment:
//   SMEV_UI_URL       gateway base URL, e.g. http://127.0.0.1:8080 (required)
//   SMEV_UI_USERS     JSON [{"login","password","role"}, …] with roles operator, supervisor, admin (required)
//   SMEV_MOCK_URL     mock SMEV base URL (its admin API is at /admin) (required)
//   SMEV_REPO         repository root (for certs-example/sp.*.pem); default: two levels up
//   SMEV_SCREENSHOTS  where screenshots go; default <repo>/target/ui-screenshots
//   CHROMIUM          browser executable; default /usr/bin/chromium
//
// Prints "ok N - step" / "not ok N - step" lines and a closing "N passed, N failed" line; exits
// non-zero on any failure. No fixed sleeps: every wait polls the page until a deadline.

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(process.env.SMEV_REPO || join(here, "..", ".."));
const base = (process.env.SMEV_UI_URL || "").replace(/\/$/, "");
const mockUrl = (process.env.SMEV_MOCK_URL || "").replace(/\/$/, "");
const shots = resolve(process.env.SMEV_SCREENSHOTS || join(repo, "target", "ui-screenshots"));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
let users;
try {
  users = JSON.parse(process.env.SMEV_UI_USERS || "");
} catch {
  console.error("SMEV_UI_USERS must be a JSON array of {login, password, role}");
  process.exit(2);
}
if (!base || !mockUrl) {
  console.error("SMEV_UI_URL and SMEV_MOCK_URL are required");
  process.exit(2);
}
const userOf = (role) => {
  const u = users.find((x) => x.role === role);
  if (!u) throw new Error(`no ${role} user in SMEV_UI_USERS`);
  return u;
};

mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.startsWith("failure-")) rmSync(join(shots, f));
const work = mkdtempSync(join(tmpdir(), "smev-ui-e2e-"));
const profile = join(work, "profile");

const ACTIVE = ["В очереди на отправку", "Отправляется", "Ожидает ответа"];
let passed = 0;
let failed = 0;
let n = 0;
let page;

async function step(name, fn) {
  n += 1;
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok ${n} - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`not ok ${n} - ${name}`);
    console.log(`  # ${String(e && e.stack || e).split("\n").join("\n  # ")}`);
    if (page) {
      try {
        console.log(`  # at ${page.url()}`);
        const text = (await page.locator("main").innerText({ timeout: 2000 })).slice(0, 800);
        console.log(`  # page: ${text.split("\n").join(" | ")}`);
        await page.screenshot({ path: join(shots, `failure-${n}.png`), fullPage: true });
      } catch { /* the page may be gone */ }
    }
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Polls until the locator's text is one of `texts` (or contains it); returns the text. */
async function waitForText(locator, texts, timeoutMs, seen = []) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      last = (await locator.first().innerText({ timeout: 1000 })).trim();
    } catch { last = ""; }
    if (last && seen[seen.length - 1] !== last) seen.push(last);
    if (texts.some((t) => last.includes(t))) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`waited ${timeoutMs} ms for ${JSON.stringify(texts)}; saw ${JSON.stringify(seen)}`);
}

async function shot(name, fullPage = true) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

async function login(role) {
  const u = userOf(role);
  await page.goto(`${base}/ui/login`);
  await page.getByLabel("Логин").fill(u.login);
  await page.getByLabel("Пароль").fill(u.password);
  await Promise.all([page.waitForURL(/\/ui\/cases/), page.getByRole("button", { name: "Войти" }).click()]);
}

async function logout() {
  await Promise.all([page.waitForURL(/\/ui\/login/), page.getByRole("button", { name: "Выйти" }).click()]);
}

const statusBadge = () => page.locator("#request-panel .status-line .badge");

/** Fills and submits the «Создать запрос» form for fns-tax-debt; returns on the preview page. */
async function fillTaxDebt(caseNo, inn) {
  await page.goto(`${base}/ui/requests/new?kind=fns-tax-debt`);
  await page.getByLabel("Номер заявки").fill(caseNo);
  await page.getByLabel("Услуга").fill("Предоставление субсидии");
  await page.getByLabel("Заявитель", { exact: true }).fill("ООО «Тест»");
  await page.getByLabel("ИНН заявителя").fill(inn);
  await page.getByLabel("Номер запроса").fill(`E2E-${randomBytes(3).toString("hex")}`);
  await page.getByLabel("ИНН организации").fill(inn);
  await page.getByLabel("На дату").fill("2026-11-20");
}

/** Prepares the filled form, attaches `files` on the preview and sends the request. */
async function submitAndSend(files = []) {
  await Promise.all([page.waitForURL(/\/ui\/requests\/new$/), page.getByRole("button", { name: "Подготовить запрос к отправке" }).click()]);
  await page.getByRole("heading", { name: "Проверка запроса перед отправкой" }).waitFor();
  if (files.length) {
    await page.getByLabel("Вложения к запросу (необязательно)").setInputFiles(files);
    await shot("04b-preview-with-files");
  }
  await Promise.all([
    page.waitForURL(/\/ui\/requests\/[0-9a-f-]+\?done=created/),
    page.getByRole("button", { name: "Сохранить и отправить запрос" }).click(),
  ]);
}

async function injectFault(rule) {
  const r = await fetch(`${mockUrl}/admin/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(rule),
  });
  check(r.ok, `mock admin refused the fault rule: HTTP ${r.status} ${await r.text()}`);
}

/** Has the mock's consumer send us a request (by default a zags-marriage one from the mock's
 * sample); opens its card once it is listed as awaiting an answer (in the row with `rowText`). */
async function openInjectedIncoming(request = { kind: "zags-marriage" }, rowText = "") {
  const r = await fetch(`${mockUrl}/admin/requests`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ to: "SYSTEM1", ...request }),
  });
  check(r.status === 201, `mock admin refused to inject a request: HTTP ${r.status} ${await r.text()}`);
  const waiting = () => page.locator("tbody tr").filter({ hasText: "Получен, ожидает ответа" }).filter({ hasText: rowText });
  const deadline = Date.now() + 30000;
  while (true) {
    await page.goto(`${base}/ui/incoming`);
    if (await waiting().count()) break;
    check(Date.now() < deadline, "the injected request did not appear in «Входящие запросы» within 30 s");
    await page.waitForTimeout(500);
  }
  await waiting().first().getByRole("link").click();
}

let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--lang=ru-RU",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "ru-RU",
    timezoneId: "Europe/Moscow",
    acceptDownloads: true,
  });
} catch (e) {
  console.error(`cannot start Chromium at ${chromiumPath}: ${e.message}`);
  console.error("install it with: apt-get install -y chromium");
  process.exit(2);
}
context.setDefaultTimeout(15000);
page = context.pages()[0] || (await context.newPage());
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("console", (m) => {
  // Pages refused on purpose (401 wrong password, 403 roles, 422 bad ЭП-СП) log a resource error; anything
  // else — a script error, a missing stylesheet or script (404) — is a failure.
  if (m.type() === "error" && !/status of (401|403|422)/.test(m.text())) consoleErrors.push(m.text());
});

let answeredCard = "";

await step("login page, wrong password refused in Russian", async () => {
  await page.goto(`${base}/ui/`);
  await page.waitForURL(/\/ui\/login/);
  check((await page.getAttribute("html", "lang")) === "ru", "html lang is not ru");
  await shot("01-login", false);
  await page.getByLabel("Логин").fill(userOf("operator").login);
  await page.getByLabel("Пароль").fill("wrong-password");
  await page.getByRole("button", { name: "Войти" }).click();
  await page.getByRole("alert").filter({ hasText: "Неверный логин или пароль." }).waitFor();
});

await step("operator logs in and sees the cases list", async () => {
  await login("operator");
  await page.getByRole("heading", { name: "Заявки" }).waitFor();
  await page.getByRole("link", { name: "ЗАЯВ-2026-000101" }).waitFor();
  await shot("02-cases");
});

await step("operator cannot open the admin pages (403, Russian)", async () => {
  for (const path of ["/ui/dead-letters", "/ui/settings"]) {
    const resp = await page.goto(`${base}${path}`);
    check(resp.status() === 403, `${path}: HTTP ${resp.status()}`);
    await page.getByText("Эта страница доступна только администратору.").waitFor();
  }
  check(await page.getByRole("link", { name: "Необработанные" }).count() === 0, "the admin menu item is shown to an operator");
});

await step("create a request from the form with a scan attached; client-side validation in Russian", async () => {
  await fillTaxDebt("E2E-2026-0001", "7707083808");
  await shot("04-create-form");
  // A wrong ИНН is caught before sending, with a Russian message next to the field.
  await page.getByLabel("ИНН организации").fill("12345");
  await page.getByRole("button", { name: "Подготовить запрос к отправке" }).click();
  await page.getByText("Поле «ИНН организации» должно состоять из 10 цифр.").waitFor();
  check((await page.getByLabel("ИНН организации").getAttribute("aria-invalid")) === "true", "aria-invalid not set");
  await page.getByLabel("ИНН организации").fill("7707083808");
  // A scan attached on the preview goes with the request and is listed on its card.
  const scan = join(work, "Заявление о субсидии.pdf");
  writeFileSync(scan, Buffer.from("%PDF-1.4\n% заявление\n"));
  await submitAndSend([scan]);
  await page.getByRole("status").filter({ hasText: "Запрос сохранён и поставлен в очередь" }).waitFor();
  await page.locator("[data-request-files]").getByText("Заявление о субсидии.pdf").waitFor();
});

await step("status goes to «Ожидает ответа» (or queued first), then «Ответ получен» without a reload", async () => {
  const seen = [];
  const first = await waitForText(statusBadge(), [...ACTIVE, "Ответ получен"], 10000, seen);
  console.log(`  # first status seen: ${first}`);
  await page.evaluate(() => { window.__noReload = true; });
  await waitForText(statusBadge(), ["Ответ получен"], 30000, seen);
  check(await page.evaluate(() => window.__noReload === true), "the page was reloaded");
  console.log(`  # statuses seen: ${seen.join(" → ")}`);
  // The history keeps every step, «Ожидает ответа» included.
  await page.locator(".timeline").getByText("Ожидает ответа").first().waitFor();
  answeredCard = page.url().replace(/\?.*$/, "");
});

await step("open the answer: a table of fields, raw XML, signatures", async () => {
  await page.getByRole("heading", { name: "Ответ" }).waitFor();
  const table = page.locator("table.answer-table");
  await table.getByText("ИНН налогоплательщика").waitFor();
  await table.getByText("Признак наличия задолженности").waitFor();
  check((await table.locator("td").allInnerTexts()).includes("7707083808"), "the INN is not in the answer table");
  await page.getByText("XML ответа", { exact: true }).click();
  await page.locator("details.raw pre").filter({ hasText: "TaxDebtResponse" }).first().waitFor();
  await page.getByRole("heading", { name: "Электронные подписи" }).waitFor();
  await page.getByText("ЭП-СМЭВ (подпись СМЭВ)").waitFor();
  // SMEV's signature chains to the configured trust list: «верна», not just "mathematically".
  await page.locator("tr", { hasText: "ЭП-СМЭВ (подпись СМЭВ)" }).getByText("верна", { exact: true }).waitFor();
  await shot("05-request-answer");
  await page.locator("section[aria-labelledby=answer-title]").screenshot({ path: join(shots, "05b-answer.png") });
});

await step("download the PDF attachment; its bytes start with %PDF", async () => {
  const link = page.locator("ul.files a").first();
  const name = (await link.innerText()).trim();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const path = join(work, "attachment.bin");
  await download.saveAs(path);
  const bytes = readFileSync(path);
  check(bytes.subarray(0, 4).toString("latin1") === "%PDF", `attachment ${name} starts with ${JSON.stringify(bytes.subarray(0, 8).toString("latin1"))}`);
  console.log(`  # ${name}: ${bytes.length} bytes, suggested name ${download.suggestedFilename()}`);
});

await step("the answer reads like a document: Да/Нет, ДД.ММ.ГГГГ, amounts in roubles, paths behind a toggle, a print view", async () => {
  await page.goto(answeredCard);
  const table = page.locator("table.answer-table");
  // Rows are found by their technical path (hidden, but in the page), values read as shown.
  const valueOf = async (path) => (await table.locator("tr", { has: page.locator("code.path", { hasText: new RegExp(`^${path.replace(/[[\]]/g, "\\$&")}$`) }) })
    .first().locator("td").innerText()).trim();
  const hasDebt = await valueOf("Result/HasDebt");
  check(hasDebt === "Да", `HasDebt reads ${JSON.stringify(hasDebt)}`);
  const onDate = await valueOf("Result/OnDate");
  check(/^\d{2}\.\d{2}\.\d{4}$/.test(onDate), `the date reads ${JSON.stringify(onDate)}`);
  const amount = await valueOf("Result/Debts/Debt[1]/Amount");
  check(/^15\s?230,50 руб\.$/.test(amount.replace(/\u202f/g, " ")), `the amount reads ${JSON.stringify(amount)}`);
  // Paths and raw values are hidden until «Технические сведения» is ticked.
  const path = table.locator("code.path").first();
  check(!(await path.isVisible()), "a technical path is shown before the toggle");
  await page.getByText("Технические сведения", { exact: false }).first().click();
  await path.waitFor({ state: "visible" });
  check((await table.innerText()).includes("15230.50 RUB"), "the raw amount is not shown with the technical details");
  await shot("12-answer-readable");
  const [print] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: "Версия для печати" }).click()]);
  await print.getByRole("heading", { name: "Сведения, полученные по межведомственному запросу" }).waitFor();
  await print.emulateMedia({ media: "print" });
  check(!(await print.locator("header.top").isVisible()), "the menu is printed");
  check(!(await print.locator("[data-print]").isVisible()), "the print button is printed");
  check((await print.locator("table.answer-table").innerText()).includes("Да"), "the print view lacks the answer table");
  await print.screenshot({ path: join(shots, "13-print-view.png"), fullPage: true });
  await print.close();
});

await step("errors for people: what to do, retry offered only where it helps", async () => {
  await injectFault({ fault: "InvalidContent", operations: ["SendRequest"], count: 1, description: "Injected by the UI test" });
  await fillTaxDebt("E2E-2026-0007", "7707083815");
  await submitAndSend();
  await waitForText(statusBadge(), ["Ошибка"], 30000);
  const card = page.locator(".card-error");
  await card.getByText("Сообщение не соответствует схеме").waitFor();
  await card.getByText("Исправьте данные запроса и создайте новый запрос").waitFor();
  check(await page.getByRole("button", { name: "Повторить отправку" }).count() === 0, "a retry is offered for data SMEV refused");
  check(!(await card.getByText("Injected by the UI test").isVisible()), "the technical message is not behind «Технические подробности»");
  await shot("14-error-advice");
});

await step("a failed request (fault injected at the mock) is retried by the руководитель and answered", async () => {
  await logout();
  await login("supervisor");
  await injectFault({ fault: "AccessDenied", operations: ["SendRequest"], count: 1, description: "Injected by the UI test" });
  await fillTaxDebt("E2E-2026-0001", "7707083830");
  await submitAndSend();
  await waitForText(statusBadge(), ["Ошибка"], 30000);
  await page.locator(".card-error").getByText("Доступ запрещён матрицей доступа СМЭВ").waitFor();
  await page.locator(".card-error").getByText("подать заявку на доступ").waitFor();
  await Promise.all([
    page.waitForURL(/done=retried/),
    page.getByRole("button", { name: "Повторить отправку" }).click(),
  ]);
  await page.getByRole("status").filter({ hasText: "Запрос поставлен в очередь на повторную отправку." }).waitFor();
  await waitForText(statusBadge(), ["Ответ получен"], 30000);
  await page.locator(".timeline").getByText("повторная отправка по решению сотрудника").waitFor();
});

await step("a rejected request (NO_DATA) shows the reason and what to do; the same data is not offered for resending", async () => {
  await page.goto(`${base}/ui/requests?q=${encodeURIComponent("ЗАЯВ-2026-000103")}`);
  const row = page.locator("tr[data-request-id]").first();
  await waitForText(row.locator(".badge"), ["Отклонён"], 30000);
  await row.getByRole("link").first().click();
  await page.getByText("Запрос отклонён поставщиком сведений.").waitFor();
  await page.getByText(/Сведения отсутствуют \(NO_DATA\)/).waitFor();
  await page.getByText("Проверьте данные запроса").waitFor();
  check(await page.getByRole("button", { name: "Повторить отправку" }).count() === 0, "«Повторить отправку» is offered for NO_DATA");
});

await step("deadline control: a request past its deadline stays in the overdue list and tile, by kind", async () => {
  // SMEV accepts it stamped 40 days ago and the provider never answers: the deadline has passed.
  await injectFault({ fault: "no_answer", operations: ["SendRequest"], count: 1, backdate_days: 40 });
  await fillTaxDebt("E2E-2026-0009", "7707083847");
  await submitAndSend();
  await page.locator("#request-panel").getByText("просрочен").first().waitFor({ timeout: 30000 });
  await page.goto(`${base}/ui/monitoring`);
  const tile = page.locator("[data-tile=overdue] .tile-num");
  check(Number(await tile.innerText()) >= 1, `the overdue tile shows ${await tile.innerText()}`);
  await page.locator("table[data-table=overdue]").getByRole("link", { name: "E2E-2026-0009" }).waitFor();
  const byKind = page.locator("table[data-table=by-kind] tr", { hasText: "задолженност" }).first();
  check(Number((await byKind.locator("td").nth(1).innerText()).trim()) >= 1, "the kind's row counts no overdue request");
  await shot("15-monitoring-deadlines");
  for (const width of [1366, 768]) {
    await page.setViewportSize({ width, height: 1024 });
    await page.goto(`${base}/ui/monitoring`);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w <= width + 2, `monitoring is ${w} px wide in a ${width} px window`);
    await shot(`15-monitoring-${width}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // The tile leads to the overdue list; an expired request is still in it.
  await Promise.all([page.waitForURL(/status=overdue/), page.locator("a[data-tile=overdue]").click()]);
  await page.locator("tr[data-request-id]", { hasText: "E2E-2026-0009" }).first().waitFor();
  await logout();
  await login("operator");
});

await step("ЭП-СП: a bad signature is refused with a clear message; the right one is accepted", async () => {
  await page.goto(`${base}/ui/requests/new?kind=zags-marriage`);
  await page.getByLabel("Номер заявки").fill("E2E-2026-0001");
  await page.getByLabel("Фамилия супруга").fill("Иванов");
  await page.getByLabel("Имя супруга").fill("Пётр");
  await page.getByLabel("Дата рождения").fill("1990-05-01");
  await page.getByLabel("СНИЛС", { exact: true }).fill("112-233-445 96");
  await page.getByRole("button", { name: "Подготовить запрос к отправке" }).click();
  await page.getByText("Контрольное число СНИЛС в поле «СНИЛС» не сходится: проверьте номер.").waitFor();
  await page.getByLabel("СНИЛС", { exact: true }).fill("112-233-445 95");
  await Promise.all([page.waitForURL(/\/sign$/), page.getByRole("button", { name: "Подготовить запрос к отправке" }).click()]);
  await page.getByRole("heading", { name: "Подпись ЭП-СП должностного лица" }).waitFor();
  await page.getByText("openssl dgst -engine gost -md_gost12_256 -sign key.pem -out signature.bin signed-info.bin").waitFor();
  const cert = join(repo, "certs-example", "sp.cert.pem");
  const key = join(repo, "certs-example", "sp.key.pem");
  const bad = join(work, "bad-signature.bin");
  writeFileSync(bad, randomBytes(64));
  await page.getByLabel("Файл подписи (.sig, .p7s или signature.bin)").setInputFiles(bad);
  await page.getByLabel("Сертификат должностного лица (PEM или DER)").setInputFiles(cert);
  await page.getByRole("button", { name: "Сохранить и отправить запрос" }).click();
  const alert = page.getByRole("alert");
  await alert.filter({ hasText: "Подпись ЭП-СП не принята" }).waitFor();
  check((await alert.innerText()).includes("подпись не соответствует подготовленным данным"), "the refusal does not say why");
  await shot("06-sign-step");
  // Now sign the downloaded SignedInfo exactly as the page says.
  const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Скачать signed-info.bin" }).click()]);
  const info = join(work, "signed-info.bin");
  const sig = join(work, "signature.bin");
  await dl.saveAs(info);
  execFileSync("openssl", ["dgst", "-engine", "gost", "-md_gost12_256", "-sign", key, "-out", sig, info], { stdio: ["ignore", "ignore", "pipe"] });
  await page.getByLabel("Файл подписи (.sig, .p7s или signature.bin)").setInputFiles(sig);
  await page.getByLabel("Сертификат должностного лица (PEM или DER)").setInputFiles(cert);
  await Promise.all([page.waitForURL(/done=signed/), page.getByRole("button", { name: "Сохранить и отправить запрос" }).click()]);
  await page.getByRole("status").filter({ hasText: "Подпись ЭП-СП проверена и принята" }).waitFor();
  await waitForText(statusBadge(), ["Ответ получен"], 30000);
  await page.locator("dl.props").getByText(/действителен/).first().waitFor();
});

await step("ЭП-СП with the official's own token through the CryptoPro plug-in API (stand-in): a colleague's certificate is refused, her own signs and the request is answered", async () => {
  // The stand-in plug-in: two certificates in «Личное» — the official's own (sp) and another
  // person's (ov); the test process signs the hash with openssl and answers as CryptoPro does.
  const tokens = [["sp.cert.pem", "sp.key.pem"], ["ov.cert.pem", "ov.key.pem"]].map(([c, k]) => {
    const certPath = join(repo, "certs-example", c);
    const pem = readFileSync(certPath, "utf8");
    const field = (...args) => execFileSync("openssl", ["x509", "-engine", "gost", "-in", certPath, "-noout", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return {
      key: join(repo, "certs-example", k),
      info: {
        subject: field("-subject", "-nameopt", "RFC2253,-esc_msb").replace(/^subject=\s*/, ""),
        validTo: new Date(field("-enddate").replace(/^notAfter=/, "")).toISOString(),
        thumbprint: field("-fingerprint").replace(/^.*=/, "").replace(/:/g, ""),
        base64: pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""),
        oid: "1.2.643.7.1.1.1.1",
      },
    };
  });
  await page.exposeFunction("__standInCertificates", () => tokens.map((t) => t.info));
  await page.exposeFunction("__standInSignHash", (index, algorithm, hashHex) => {
    check(algorithm === 101, `the page asked for hash algorithm ${algorithm}, not GOST R 34.11-2012 256`);
    const hash = join(work, "plugin-hash.bin");
    const out = join(work, "plugin-signature.bin");
    writeFileSync(hash, Buffer.from(hashHex, "hex"));
    execFileSync("openssl", ["pkeyutl", "-engine", "gost", "-sign", "-inkey", tokens[index].key, "-in", hash, "-out", out], { stdio: ["ignore", "ignore", "pipe"] });
    return Buffer.from(readFileSync(out)).reverse().toString("hex").toUpperCase();
  });
  await context.addInitScript({ path: join(here, "cadesplugin-standin.js") });
  await page.goto(`${base}/ui/requests/new?kind=zags-marriage`);
  await page.getByLabel("Номер заявки").fill("E2E-2026-0008");
  await page.getByLabel("Фамилия супруга").fill("Иванов");
  await page.getByLabel("Имя супруга").fill("Пётр");
  await page.getByLabel("Дата рождения").fill("1990-05-01");
  await page.getByLabel("СНИЛС", { exact: true }).fill("112-233-445 95");
  await Promise.all([page.waitForURL(/\/sign$/), page.getByRole("button", { name: "Подготовить запрос к отправке" }).click()]);
  await page.getByRole("heading", { name: "Подписать сертификатом с токена" }).waitFor();
  const select = page.getByLabel("Сертификат должностного лица", { exact: true });
  await page.getByRole("button", { name: "Подписать", exact: true }).waitFor();
  await waitForText(select, ["Иванов Иван Иванович"], 10000);
  check(await select.locator("option").count() === 2, "the store's two certificates are not offered");
  for (const width of [1366, 768]) {
    await page.setViewportSize({ width, height: 1024 });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w <= width + 2, `the ЭП-СП page is ${w} px wide in a ${width} px window`);
    await shot(`16-plugin-sign-${width}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // A colleague's certificate: the server refuses it before anything is sent.
  await select.selectOption({ index: 1 });
  await page.getByRole("button", { name: "Подписать", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "сертификат выдан другому лицу" }).waitFor();
  await page.getByLabel("Сертификат должностного лица", { exact: true }).selectOption({ index: 0 });
  await Promise.all([page.waitForURL(/done=signed/), page.getByRole("button", { name: "Подписать", exact: true }).click()]);
  await page.getByRole("status").filter({ hasText: "Подпись ЭП-СП проверена и принята" }).waitFor();
  await waitForText(statusBadge(), ["Ответ получен"], 30000);
});

await step("case card with the tab «Межведомственные запросы» (keyboard tabs)", async () => {
  await page.goto(answeredCard);
  await page.getByRole("link", { name: "Заявка № E2E-2026-0001" }).first().click();
  await page.getByRole("heading", { name: "Заявка № E2E-2026-0001" }).waitFor();
  const tab = page.getByRole("tab", { name: /Межведомственные запросы/ });
  check((await tab.getAttribute("aria-selected")) === "true", "the requests tab is not selected");
  const table = page.getByRole("table", { name: /Запросы по заявке/ });
  await table.getByText("Ответ получен").first().waitFor();
  const rows = await table.locator("tbody tr").count();
  check(rows === 3, `the case has ${rows} requests, expected 3`);
  await table.getByRole("columnheader", { name: "Срок ответа" }).waitFor();
  await shot("03-case-card");
  await tab.focus();
  await page.keyboard.press("ArrowRight");
  const info = page.getByRole("tab", { name: "Сведения о заявке" });
  check((await info.getAttribute("aria-selected")) === "true", "ArrowRight did not select the next tab");
  await page.getByRole("tabpanel").getByText("ООО «Тест»").waitFor();
});

await step("forms and search: ИНН check number, prefill from the case, values kept across a kind change, СНИЛС in any spelling, row details, file names, 768 px", async () => {
  await page.goto(answeredCard);
  await page.getByRole("link", { name: "Заявка № E2E-2026-0001" }).first().click();
  await Promise.all([page.waitForURL(/\/ui\/requests\/new\?/), page.locator("main a.btn", { hasText: "Создать запрос" }).click()]);
  // The request's ИНН starts from the case's.
  const caseInn = await page.getByLabel("ИНН заявителя").inputValue();
  check(/^\d{10}$/.test(caseInn) && await page.getByLabel("ИНН организации").inputValue() === caseInn, `the ИНН is not prefilled from the case (${caseInn})`);
  // A mistyped ИНН is caught by its check number, in the browser and on the server alike.
  await page.getByLabel("ИНН организации").fill("7707083809");
  await page.getByLabel("Номер запроса").fill("E2E-CHK");
  await page.getByLabel("На дату").fill("2026-11-20");
  await page.getByRole("button", { name: "Подготовить запрос к отправке" }).click();
  await page.getByText("Контрольное число ИНН в поле «ИНН организации» не сходится: проверьте номер.").first().waitFor();
  // Changing «Вид сведений» keeps what was typed in the case block.
  await page.getByLabel("Услуга").fill("Проверка переноса значений");
  await page.getByLabel("Вид сведений").selectOption("zags-marriage");
  await Promise.all([page.waitForURL(/kind=zags-marriage/), page.getByRole("button", { name: "Выбрать" }).click()]);
  check(await page.getByLabel("Услуга").inputValue() === "Проверка переноса значений", "a typed value was lost when the kind changed");
  check(await page.getByLabel("Номер заявки").inputValue() === "E2E-2026-0001", "the case number was lost when the kind changed");
  // A СНИЛС inside the request data finds the request, whatever its spelling.
  for (const q of ["11223344595", "112 233 445 95", "112-233-445 95"]) {
    await page.goto(`${base}/ui/requests?q=${encodeURIComponent(q)}`);
    await page.locator("tr[data-request-id]", { hasText: "ЗАГС" }).first().waitFor();
  }
  await page.locator(".row-details", { hasText: "MessageID …" }).first().waitFor();
  await page.setViewportSize({ width: 768, height: 1024 });
  const header = page.getByRole("columnheader", { name: "Срок ответа" }).first();
  const box = await header.boundingBox();
  check(box && box.x + box.width <= 768, `the deadline column ends at ${box && box.x + box.width} px in a 768 px window`);
  await shot("17-requests-768");
  await page.setViewportSize({ width: 1280, height: 900 });
  // Downloads are named for people.
  await page.goto(answeredCard);
  const [xml] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Скачать XML запроса" }).click()]);
  check(/^Запрос, заявка E2E-2026-0001, fns-tax-debt, \d{2}\.\d{2}\.\d{4}\.xml$/.test(xml.suggestedFilename()), `the request XML is named ${xml.suggestedFilename()}`);
});

await step("the request list refreshes statuses live", async () => {
  await fillTaxDebt("E2E-2026-0004", "7707083854");
  await submitAndSend();
  await page.goto(`${base}/ui/requests?q=E2E-2026-0004`);
  const badge = page.locator("tr[data-request-id] .badge").first();
  await page.evaluate(() => { window.__noReload = true; });
  await waitForText(badge, ["Ответ получен"], 30000);
  check(await page.evaluate(() => window.__noReload === true), "the list was reloaded");
  await shot("09-requests");
});

await step("incoming request (provider role): a schema-invalid answer is refused with positions, a rejection is sent", async () => {
  await openInjectedIncoming();
  await page.getByRole("heading", { name: "Сведения запроса" }).waitFor();
  // The pre-filled skeleton is not a valid answer: refused with line and column, in Russian.
  await page.getByRole("button", { name: "Отправить ответ" }).click();
  const alert = page.getByRole("alert");
  await alert.filter({ hasText: "XML не соответствует схеме (XSD) вида сведений" }).waitFor();
  check(/строка \d+, позиция \d+/.test(await alert.innerText()), "the schema errors have no line/column");
  await shot("10-incoming");
  await page.getByLabel("Причина отказа").selectOption("NO_DATA");
  await page.getByLabel(/Пояснение/).fill("Запись акта о заключении брака не найдена");
  await Promise.all([page.waitForURL(/done=rejected/), page.getByRole("button", { name: "Отправить отказ" }).click()]);
  await page.getByRole("status").filter({ hasText: "Отказ принят" }).waitFor();
  await page.getByText(/Отказ отправляется|Отказ отправлен/).first().waitFor();
  await page.getByRole("heading", { name: "Наш отказ" }).waitFor();
  // The list shows the answer deadline and the refusal as a refusal.
  await page.goto(`${base}/ui/incoming`);
  await page.getByRole("columnheader", { name: "Ответить до" }).waitFor();
  await page.locator("tbody tr").filter({ hasText: /Отказ отправл/ }).first().waitFor();
  const due = await page.locator("tbody tr").first().locator("td").nth(3).innerText();
  check(/\d{2}\.\d{2}\.\d{4}/.test(due), `no answer deadline in the incoming list: ${JSON.stringify(due)}`);
  await logout();
});

await step("incoming request answered with a file: the answer lists the file by its name and the refusal-free status", async () => {
  await login("operator");
  await openInjectedIncoming();
  const answer = readFileSync(join(repo, "mock-smev", "scenarios", "templates", "zags-marriage-response.xml"), "utf8")
    .replace(/\{\{[^}]*or "([^"]*)" \}\}/g, "$1");
  const details = page.locator("details", { hasText: "Или ввести XML ответа целиком" });
  if (await details.count()) await details.locator("summary").click();
  await page.getByLabel(/XML ответа/).fill(answer);
  const file = join(work, "Справка о браке.pdf");
  writeFileSync(file, Buffer.from("%PDF-1.4\n% справка\n"));
  await page.getByLabel("Вложения (необязательно)").setInputFiles(file);
  await Promise.all([page.waitForURL(/done=/), page.getByRole("button", { name: "Отправить ответ" }).click()]);
  await page.getByRole("heading", { name: "Наш ответ" }).waitFor();
  await page.locator("[data-sent-files]").getByText("Справка о браке.pdf").waitFor();
  await page.getByText(/Ответ отправляется|Ответ отправлен/).first().waitFor();
  await shot("19-incoming-answered");
  await logout();
});

await step("an incoming request of a VS package kind: the руководитель assigns it, the executor answers by the form made from the response schema", async () => {
  await login("supervisor");
  const request = `<p:ПроверкаПаспортаЗапрос xmlns:p="urn://smev-gateway/example/passport-validity/1.0" xmlns:c="urn://smev-gateway/example/commons/1.0" ИдЗапрос="IN-2026-77" ИННЮЛ="7707083893"><p:Заявитель><c:Фамилия>Соколова</c:Фамилия><c:Имя>Мария</c:Имя></p:Заявитель><p:ПаспортРФ Серия="4510" Номер="123456"/><p:Основание>01</p:Основание></p:ПроверкаПаспортаЗапрос>`;
  await openInjectedIncoming({ kind: "example-passport", content: request }, "паспорта");
  const card = page.url();
  await page.getByLabel("Исполнитель", { exact: true }).selectOption({ label: "Оператор Иванова А. С." });
  await Promise.all([page.waitForURL(/done=assigned/), page.getByRole("button", { name: "Назначить исполнителя" }).click()]);
  await page.getByRole("status").filter({ hasText: "Исполнитель назначен" }).waitFor();
  check((await page.locator("dd[data-assignee]").innerText()).includes("Иванова"), "the card does not show the executor");
  await logout();
  await login("operator");
  // «Только мои»: the executor finds it.
  await page.goto(`${base}/ui/incoming?mine=1`);
  const mine = page.locator("tbody tr").filter({ hasText: "паспорта" });
  check(await mine.count() === 1, `«Только мои» lists ${await mine.count()} passport requests, not 1`);
  await mine.getByRole("link").click();
  await page.waitForURL(card);
  await page.getByRole("cell", { name: "Соколова" }).first().waitFor();
  await page.getByLabel(/^ИдЗапрос/).fill("IN-2026-77");
  await page.getByLabel(/^Действителен/).selectOption("true");
  await page.getByLabel(/^ДатаПроверки/).fill("2026-12-03");
  // «Добавить ещё» keeps what was typed and adds a second record.
  await page.getByRole("button", { name: "Добавить ещё: Сведения о документе" }).click();
  await page.locator('[name="x:Сведения[2]/@Действителен"]').waitFor();
  check(await page.getByLabel(/^ИдЗапрос/).inputValue() === "IN-2026-77", "«Добавить ещё» lost the typed value");
  // The second record half filled: the server's Russian message at the missing date (the
  // browser's own check off).
  await page.locator('[name="x:Сведения[2]/@Действителен"]').selectOption("false");
  await page.evaluate(() => document.querySelectorAll("form").forEach((f) => { f.noValidate = true; }));
  await page.getByRole("button", { name: "Отправить ответ" }).click();
  await page.getByRole("alert").filter({ hasText: "Ответ заполнен с ошибками" }).waitFor();
  await page.locator('[id="x:Сведения[2]/@ДатаПроверки-error"]').filter({ hasText: "значение не указано" }).waitFor();
  check(await page.locator('[name="x:Сведения[2]/@Действителен"]').inputValue() === "false", "the refused form lost the typed value");
  await page.locator('[name="x:Сведения[2]/@ДатаПроверки"]').fill("2026-12-02");
  await Promise.all([page.waitForURL(/done=answered/), page.getByRole("button", { name: "Отправить ответ" }).click()]);
  await page.getByRole("heading", { name: "Наш ответ" }).waitFor();
  const sent = await page.locator("section", { has: page.getByRole("heading", { name: "Наш ответ" }) }).innerText();
  check(sent.includes('Действителен="true"') && sent.includes('Действителен="false"') && sent.includes('ИдЗапрос="IN-2026-77"'),
    `the answer built from the form is not what was typed: ${sent}`);
  await page.getByText(/Ответ отправляется|Ответ отправлен/).first().waitFor();
  await shot("27-incoming-schema-form");
  await logout();
});

await step("руководитель sees monitoring; cannot open dead letters", async () => {
  await login("supervisor");
  await page.goto(`${base}/ui/monitoring`);
  await page.getByRole("heading", { name: "Запросы по статусам" }).waitFor();
  await page.getByText("ошибок и отказов сегодня").waitFor();
  await page.getByRole("heading", { name: "Дольше всех ждёт ответа" }).waitFor();
  await shot("07-monitoring");
  const resp = await page.goto(`${base}/ui/dead-letters`);
  check(resp.status() === 403, `supervisor got HTTP ${resp.status()} on dead letters`);
  await page.goto(`${base}/ui/cases`);
  await logout();
});

await step("администратор: a message with a broken ЭП-СМЭВ becomes a dead letter and is closed", async () => {
  await login("admin");
  await injectFault({ fault: "corrupt_signature", operations: ["GetResponse"], count: 1 });
  await fillTaxDebt("E2E-2026-0005", "7707083861");
  await submitAndSend();
  const deadline = Date.now() + 30000;
  let row;
  while (true) {
    const resp = await page.goto(`${base}/ui/dead-letters`);
    check(resp.status() === 200, `dead letters: HTTP ${resp.status()}`);
    row = page.locator("tbody tr").filter({ hasText: "Требует решения" }).first();
    if (await row.count()) break;
    check(Date.now() < deadline, "no dead letter appeared within 30 s");
    await page.waitForTimeout(500);
  }
  await page.getByRole("heading", { name: "Необработанные сообщения" }).waitFor();
  await shot("11-dead-letters");
  await Promise.all([page.waitForURL(/done=closed/), row.getByRole("button", { name: "Подтвердить и закрыть" }).click()]);
  await page.getByRole("status").filter({ hasText: "подтверждено" }).waitFor();
  await page.getByText("Подтверждено и закрыто").first().waitFor();
  await page.locator(".timeline").getByText(/подтверждено .* и закрыто/).waitFor();
});

await step("администратор opens dead letters and settings", async () => {
  let resp = await page.goto(`${base}/ui/dead-letters`);
  check(resp.status() === 200, `dead letters: HTTP ${resp.status()}`);
  await page.getByRole("heading", { name: "Необработанные сообщения" }).waitFor();
  resp = await page.goto(`${base}/ui/settings`);
  check(resp.status() === 200, `settings: HTTP ${resp.status()}`);
  await page.getByRole("heading", { name: "Информационные системы" }).waitFor();
  check(!(await page.content()).includes("$argon2"), "a password hash is shown");
});

await step("a kind from a VS package (dev --kind): form made from its schema, choice, «Добавить ещё», Russian errors, answered", async () => {
  await logout();
  await login("operator");
  await page.goto(`${base}/ui/requests/new?kind=example-passport`);
  await page.getByRole("group", { name: "Фамилия, имя, отчество заявителя" }).waitFor();
  check(await page.locator("fieldset.schema-section legend", { hasText: "Фамилия, имя, отчество заявителя" }).locator(".req").count() === 1,
    "the required section has no required mark");
  await page.getByLabel("Номер заявки").fill("E2E-VS-0001");
  await page.getByLabel("Идентификатор запроса").fill(`VS-${randomBytes(3).toString("hex")}`);
  await page.getByLabel("ИНН запрашивающей организации").fill("7707329152");
  await page.locator('[name="x:Заявитель/Фамилия"]').fill("Иванова");
  await page.locator('[name="x:Заявитель/Имя"]').fill("Анна");
  await page.locator('[name="x:Основание[1]"]').selectOption("01");
  // The choice: only the chosen document's fields are shown.
  const rf = page.locator('[name="x:ПаспортРФ/@Серия"]');
  const foreign = page.locator('[name="x:ЗагранПаспорт/@Номер"]');
  check(await rf.isVisible() && !(await foreign.isVisible()), "the first alternative is not the one shown");
  await page.getByLabel("Заграничный паспорт").check();
  check(!(await rf.isVisible()) && await foreign.isVisible(), "switching the choice does not switch the fields");
  await foreign.fill("12345");
  await shot("09-schema-form");
  await Promise.all([page.waitForURL(/\/ui\/requests\/new$/), page.getByRole("button", { name: "Подготовить запрос к отправке" }).click()]);
  await page.locator('[id="x:ЗагранПаспорт/@Номер-error"]').getByText("не соответствует формату").waitFor();
  check((await page.getByLabel("Заграничный паспорт").isChecked()), "the chosen alternative was lost");
  await page.locator('[name="x:ЗагранПаспорт/@Номер"]').fill("751234567");
  // A second reason: «Добавить ещё» adds a field and keeps what was typed.
  await Promise.all([page.waitForURL(/\/ui\/requests\/new$/), page.getByRole("button", { name: "Добавить ещё: Основание запроса" }).click()]);
  await page.locator('[name="x:Основание[2]"]').selectOption("02");
  check(await page.locator('[name="x:Заявитель/Фамилия"]').inputValue() === "Иванова", "a typed value was lost");
  await submitAndSend();
  await waitForText(statusBadge(), ["Ответ получен"], 30000);
});

await step("1366 px and a 768 px tablet: no horizontal page scroll", async () => {
  const paths = ["/ui/cases", "/ui/requests", "/ui/requests?status=overdue", (answeredCard.replace(base, "") || "/ui/requests") + "/print", answeredCard.replace(base, "") || "/ui/requests", "/ui/requests/new",
    "/ui/requests/new?kind=zags-marriage", "/ui/requests/new?kind=example-passport", "/ui/monitoring", "/ui/settings", "/ui/dead-letters", "/ui/incoming"];
  for (const width of [1366, 768]) {
    await page.setViewportSize({ width, height: 1024 });
    for (const path of paths) {
      await page.goto(`${base}${path}`);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      check(w <= width + 2, `${path} is ${w} px wide in a ${width} px window`);
    }
  }
  await page.goto(`${base}/ui/cases`);
  await shot("08-cases-768");
  await page.setViewportSize({ width: 1280, height: 900 });
});

await step("executors, «Запомнить меня» and a password change: the руководитель assigns a case, the operator finds it under «Только мои»", async () => {
  await logout();
  // «Запомнить меня»: the session cookie outlives the browser, for the configured days only.
  const sup = userOf("supervisor");
  await page.goto(`${base}/ui/login`);
  await page.getByLabel("Логин").fill(sup.login);
  await page.getByLabel("Пароль").fill(sup.password);
  await page.getByLabel(/Запомнить меня/).check();
  await Promise.all([page.waitForURL(/\/ui\/cases/), page.getByRole("button", { name: "Войти" }).click()]);
  const cookie = (await context.cookies()).find((c) => c.name === "smev_ui_session");
  const days = (cookie.expires * 1000 - Date.now()) / 86400000;
  check(days > 13 && days < 15, `the remembered session lasts ${days.toFixed(1)} days`);
  // «Назначить исполнителя» on the case card.
  await page.goto(`${base}/ui/cases`);
  await page.getByRole("link", { name: "E2E-2026-0001" }).first().click();
  await page.getByLabel("Исполнитель").selectOption({ label: "Оператор Иванова А. С." });
  await Promise.all([page.waitForURL(/done=assigned/), page.getByRole("button", { name: "Назначить исполнителя" }).click()]);
  await page.getByRole("status").filter({ hasText: "Исполнитель назначен." }).waitFor();
  await page.locator("[data-assignee]", { hasText: "Оператор Иванова А. С." }).waitFor();
  await page.goto(`${base}/ui/monitoring`);
  await page.locator("table[data-table=by-executor]").getByText("Оператор Иванова А. С.").waitFor();
  await shot("18-monitoring-executors");
  // The руководитель changes her password; the new one opens the next session.
  await page.getByRole("link", { name: "Сменить пароль" }).click();
  await page.getByLabel("Текущий пароль").fill(sup.password);
  const fresh = `Новый-пароль-${randomBytes(4).toString("hex")}`;
  await page.getByLabel("Новый пароль", { exact: true }).fill(fresh);
  await page.getByLabel("Новый пароль ещё раз").fill(fresh);
  await Promise.all([page.waitForURL(/done=changed/), page.getByRole("button", { name: "Сменить пароль" }).click()]);
  await page.getByRole("status").filter({ hasText: "Пароль изменён." }).waitFor();
  await logout();
  await page.getByLabel("Логин").fill(sup.login);
  await page.getByLabel("Пароль").fill(sup.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await page.getByRole("alert").filter({ hasText: "Неверный логин или пароль." }).waitFor();
  await page.getByLabel("Пароль").fill(fresh);
  await Promise.all([page.waitForURL(/\/ui\/cases/), page.getByRole("button", { name: "Войти" }).click()]);
  sup.password = fresh;
  await logout();
  // The operator's own requests.
  await login("operator");
  await page.goto(`${base}/ui/requests`);
  await page.getByLabel("Только мои").check();
  await Promise.all([page.waitForURL(/mine=1/), page.getByRole("button", { name: "Найти" }).click()]);
  await page.locator("tr[data-request-id] .row-details", { hasText: "исп. Оператор Иванова А. С." }).first().waitFor();
  for (const width of [1366, 768]) {
    await page.setViewportSize({ width, height: 1024 });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    check(w <= width + 2, `the list with «Только мои» is ${w} px wide in a ${width} px window`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
});

await step("no script errors in the browser console", async () => {
  check(consoleErrors.length === 0, consoleErrors.join("\n"));
});

await context.close();
try { rmSync(work, { recursive: true, force: true }); } catch { /* best effort */ }
console.log(`screenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
