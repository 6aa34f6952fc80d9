// The sandbox page: the demo organisation's people as phones side by side, each a chat with
// the bot rendered as Telegram would, kept live by the fake Telegram's event stream.
"use strict";

const HEADERS = { "Content-Type": "application/json", "X-Zhibu-Sandbox": "1" };
const DEFAULT_KINDS = ["admin", "secretary", "member", "mobile", "newcomer"];
const state = {
  // ?locale=en or ?locale=zh_Hans, then the last choice, then the browser's language.
  locale: new URLSearchParams(location.search).get("locale") || localStorage.getItem("zhibu.locale") ||
    (navigator.language.startsWith("zh") ? "zh_Hans" : "en"),
  texts: {},
  phones: [],
  chats: new Map(),
  shown: new Set(JSON.parse(localStorage.getItem("zhibu.shown") || "null") || []),
  unread: new Map(),
  clock: null,
  clockRead: 0,
  ready: false,
  buffered: [],
};

const $ = (selector, root = document) => root.querySelector(selector);
const t = (key) => state.texts[key] || key;

async function api(path, body, options = {}) {
  const init = body === undefined ? {} : { method: "POST", headers: HEADERS, body: JSON.stringify(body) };
  const response = await fetch(path, { ...init, ...options });
  const payload = await response.json();
  if (!payload.ok) {
    notice(payload.description || response.statusText);
    throw new Error(payload.description);
  }
  return payload.result !== undefined ? payload.result : payload;
}

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// ---- the page's words and the clock ------------------------------------------------------

async function loadTexts() {
  const result = await api(`/api/texts?locale=${state.locale}`);
  state.texts = result.texts;
  document.documentElement.lang = state.locale === "en" ? "en" : "zh-Hans";
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = t(element.dataset.text);
  }
  $("#page-language").value = state.locale;
  for (const phone of document.querySelectorAll(".phone")) labelPhone(phone);
  renderPicker();
}

function showClock(clock) {
  state.clock = clock;
  state.clockRead = Date.now();
  drawClock();
}

function drawClock() {
  if (!state.clock) return;
  const now = new Date(Date.parse(state.clock.now) + (Date.now() - state.clockRead));
  const format = new Intl.DateTimeFormat(state.locale === "en" ? "en-GB" : "zh-CN", {
    timeZone: state.clock.time_zone, weekday: "short", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  const clock = $("#clock-now");
  clock.textContent = format.format(now);
  clock.dateTime = now.toISOString();
  clock.dataset.offset = state.clock.offset_seconds;
}

async function advance(step) {
  const result = await api(`/api/clock?locale=${state.locale}`, { advance: step });
  showClock(result);
  notice(result.message);
}

// ---- phones -------------------------------------------------------------------------------

function orgName(phone) {
  return phone.org_name[state.locale] || phone.org;
}

function renderPicker() {
  const picker = $("#picker");
  for (const chip of picker.querySelectorAll(".chip")) chip.remove();
  for (const phone of state.phones) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip" + (state.shown.has(phone.telegram_id) ? " on" : "");
    chip.dataset.id = phone.telegram_id;
    chip.textContent = `${phone.name} · ${t("kind_" + phone.kind)}`;
    const unread = state.unread.get(phone.telegram_id) || 0;
    if (unread && !state.shown.has(phone.telegram_id)) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = unread;
      chip.append(badge);
    }
    chip.addEventListener("click", () => toggle(phone.telegram_id));
    picker.append(chip);
  }
}

function toggle(id) {
  if (state.shown.has(id)) state.shown.delete(id);
  else {
    state.shown.add(id);
    state.unread.delete(id);
  }
  localStorage.setItem("zhibu.shown", JSON.stringify([...state.shown]));
  layout();
}

function layout() {
  const main = $("#phones");
  for (const phone of state.phones) {
    let element = phoneElement(phone.telegram_id);
    if (!state.shown.has(phone.telegram_id)) {
      if (element) element.remove();
      continue;
    }
    if (!element) element = createPhone(phone);
    main.append(element);  // in the phones' order
    element.querySelector(".chat").scrollTop = 1e9;
  }
  renderPicker();
}

function phoneElement(id) {
  return document.querySelector(`.phone[data-id="${id}"]`);
}

function phoneData(id) {
  return state.phones.find((phone) => phone.telegram_id === id);
}

function labelPhone(element) {
  const phone = phoneData(Number(element.dataset.id));
  if (!phone) return;
  $(".name", element).textContent = phone.name;
  $(".role", element).textContent = `${t("kind_" + phone.kind)} · ${orgName(phone)}`;
  $(".avatar", element).textContent = phone.name.slice(0, 1);
  $(".lang", element).value = phone.language_code;
  $(".lang", element).title = t("language");
  $(".hide", element).title = t("close");
  $(".entry", element).placeholder = t("placeholder");
  $(".send", element).title = t("send");
  $(".photo-attach", element).title = t("attach_photo");
  $(".file-attach", element).title = t("attach_file");
  $(".alert-ok", element).textContent = t("ok");
  $(".empty", element).textContent = t("empty");
  const invite = $(".invite", element);
  invite.hidden = !phone.invite_code || hasAccountChat(phone.telegram_id);
  if (phone.invite_code) {
    $(".code", invite).textContent = t("invite").replace("{code}", phone.invite_code);
    $(".privacy", invite).textContent = t("privacy");
    $(".open-invite", invite).textContent = t("open_invite");
  }
}

function hasAccountChat(id) {
  const chat = state.chats.get(id);
  return !!chat && [...chat.values()].some((record) => !record.from_bot);
}

function createPhone(phone) {
  const element = $("#phone-template").content.firstElementChild.cloneNode(true);
  const id = phone.telegram_id;
  element.dataset.id = id;
  element.dataset.kind = phone.kind;
  labelPhone(element);
  $(".compose", element).addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $(".entry", element);
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendText(id, text);
  });
  $(".photo-input", element).addEventListener("change", (event) => upload(id, "photo", event.target));
  $(".file-input", element).addEventListener("change", (event) => upload(id, "document", event.target));
  $(".lang", element).addEventListener("change", async (event) => {
    const changed = await api(`/api/phones/${id}/language`, { language_code: event.target.value });
    Object.assign(phone, changed);
    labelPhone(element);
  });
  $(".hide", element).addEventListener("click", () => toggle(id));
  $(".open-invite", element).addEventListener("click", () => sendText(id, `/start ${phone.invite_code}`));
  $(".alert-ok", element).addEventListener("click", () => { $(".alert", element).hidden = true; });
  const chat = state.chats.get(id) || new Map();
  for (const record of [...chat.values()].sort((a, b) => a.message_id - b.message_id)) {
    drawMessage(element, record);
  }
  drawReplyKeyboard(element, id);
  return element;
}

function sendText(id, text) {
  return api(`/api/phones/${id}/text`, { text }).catch(() => {});
}

async function upload(id, kind, input) {
  const file = input.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  input.value = "";
  const response = await fetch(`/api/phones/${id}/${kind}`, {
    method: "POST", headers: { "X-Zhibu-Sandbox": "1" }, body: form,
  });
  const payload = await response.json();
  if (!payload.ok) notice(payload.description);
}

// ---- messages -----------------------------------------------------------------------------

function upsert(record, kind) {
  const id = record.chat_id;
  if (!state.chats.has(id)) state.chats.set(id, new Map());
  const chat = state.chats.get(id);
  const known = chat.get(record.message_id);
  // An event may arrive after the state it is part of: never go back to an older version.
  if (known && (known.edits || []).length > (record.edits || []).length && !record.deleted) return;
  chat.set(record.message_id, record);
  const element = phoneElement(id);
  if (element) {
    drawMessage(element, record);
    drawReplyKeyboard(element, id);
    labelPhone(element);
  } else if (kind === "message" && record.from_bot) {
    state.unread.set(id, (state.unread.get(id) || 0) + 1);
    renderPicker();
  }
}

function drawMessage(phoneEl, record) {
  const chat = $(".chat", phoneEl);
  const empty = $(".empty", chat);
  if (empty) empty.hidden = true;
  const fresh = messageElement(record);
  const existing = chat.querySelector(`.msg[data-message-id="${record.message_id}"]`);
  if (existing) existing.replaceWith(fresh);
  else {
    const later = [...chat.querySelectorAll(".msg")].find((el) => Number(el.dataset.messageId) > record.message_id);
    if (later) chat.insertBefore(fresh, later);
    else chat.append(fresh);
    chat.scrollTop = 1e9;
  }
}

// ---- events -------------------------------------------------------------------------------

function handle(event) {
  if (event.kind === "reset") return loadState();
  if (event.kind === "message" || event.kind === "edit" || event.kind === "delete") {
    return upsert(event.message, event.kind);
  }
  if (event.kind === "user_message") return upsert(event.message, event.kind);
  if (event.kind === "answer") return answered(event);
  if (event.kind === "action") return acting(event);
}

function answered(event) {
  const element = phoneElement(event.chat_id);
  if (!element || !event.text) return;
  if (event.show_alert) {
    $(".alert-text", element).textContent = event.text;
    $(".alert", element).hidden = false;
    return;
  }
  const toast = document.createElement("div");
  toast.className = "toast";
  toast.textContent = event.text;
  $(".toasts", element).append(toast);
  setTimeout(() => toast.remove(), 3000);
}

function acting(event) {
  const element = phoneElement(event.chat_id);
  if (!element) return;
  const status = $(".status", element);
  status.textContent = t("action_" + event.action) !== "action_" + event.action
    ? t("action_" + event.action) : t("action_other");
  clearTimeout(status.timer);
  status.timer = setTimeout(() => { status.textContent = ""; }, 5000);
}

async function loadState() {
  state.ready = false;
  const result = await api("/api/state");
  state.phones = result.phones;
  state.chats = new Map();
  for (const [id, records] of Object.entries(result.chats)) {
    state.chats.set(Number(id), new Map(records.map((record) => [record.message_id, record])));
  }
  showClock(result.clock);
  if (!state.shown.size || ![...state.shown].some((id) => phoneData(id))) defaultPhones();
  for (const element of document.querySelectorAll(".phone")) element.remove();
  layout();
  state.ready = true;
  for (const event of state.buffered.splice(0)) handle(event);
  document.body.dataset.ready = "1";
}

function defaultPhones() {
  state.shown = new Set();
  const secretaries = state.phones.filter((phone) => phone.kind === "secretary").slice(0, 2);
  const members = state.phones.filter((phone) => phone.kind === "member").slice(0, 1);
  for (const phone of state.phones) {
    if (["admin", "mobile", "newcomer"].includes(phone.kind) || secretaries.includes(phone) || members.includes(phone)) {
      state.shown.add(phone.telegram_id);
    }
  }
}

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => { $("#notice").hidden = true; loadState().catch(() => {}); };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (state.ready) handle(event);
    else state.buffered.push(event);
  };
  source.onerror = () => { state.ready = false; document.body.dataset.ready = ""; notice(t("reconnecting")); };
}

// ---- controls -------------------------------------------------------------------------------

function bindControls() {
  $("#advance-hour").addEventListener("click", () => advance("1h").catch(() => {}));
  $("#advance-day").addEventListener("click", () => advance("1d").catch(() => {}));
  $("#advance-next").addEventListener("click", () => advance("next").catch(() => {}));
  $("#reset").addEventListener("click", () => {
    if (confirm(t("reset_confirm"))) api("/api/reset", {}).catch(() => {});
  });
  $("#stranger").addEventListener("click", async () => {
    const stranger = await api("/api/strangers", {});
    state.phones.push(stranger);
    state.shown.add(stranger.telegram_id);
    layout();
  });
  $("#page-language").addEventListener("change", (event) => {
    state.locale = event.target.value;
    localStorage.setItem("zhibu.locale", state.locale);
    loadTexts().then(drawClock);
  });
  setInterval(drawClock, 15000);
}

bindControls();
loadTexts().then(connect);
