// How a chat message is drawn, as Telegram would: photos inline, documents as downloads,
// formatting from the message's entities, inline keyboards under it, the reply keyboard
// above the input line. Uses sandbox.js's helpers ($, t, api, sendText, state).
"use strict";

function messageElement(record) {
  const element = document.createElement("div");
  element.className = "msg " + (record.from_bot ? "bot" : "user") + (record.deleted ? " deleted" : "");
  element.dataset.messageId = record.message_id;
  if (record.photo) {
    const image = document.createElement("img");
    image.className = "photo";
    image.src = `/api/files/${record.photo.file_id}`;
    image.alt = record.caption || "photo";
    element.append(image);
  }
  if (record.document) element.append(documentLink(record.document));
  if (record.sticker) element.append(document.createTextNode(record.sticker.emoji || "🖼"));
  const body = record.text !== null && record.text !== undefined ? record.text : record.caption;
  if (body) {
    const text = document.createElement("div");
    text.className = "text";
    const entities = record.text !== null && record.text !== undefined ? record.entities : (record.caption_entities || []);
    text.append(renderEntities(body, entities || [], record.chat_id));
    element.append(text);
  }
  const meta = document.createElement("div");
  meta.className = "meta";
  if (record.edits && record.edits.length) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = t("edited");
    meta.append(edited);
  }
  if (record.deleted) meta.append(document.createTextNode(t("deleted") + " "));
  meta.append(document.createTextNode(timeOf(record.edit_date || record.date)));
  element.append(meta);
  const markup = record.reply_markup;
  if (record.from_bot && !record.deleted && markup && markup.inline_keyboard) {
    element.append(inlineKeyboard(record, markup.inline_keyboard));
  }
  return element;
}

function timeOf(seconds) {
  const zone = state.clock ? state.clock.time_zone : undefined;
  return new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit" })
    .format(new Date(seconds * 1000));
}

function documentLink(file) {
  const link = document.createElement("a");
  link.className = "document";
  link.href = `/api/files/${file.file_id}?download=1`;
  link.download = file.file_name || "file";
  const icon = document.createElement("span");
  icon.className = "icon";
  icon.textContent = "⬇";
  const label = document.createElement("span");
  const name = document.createElement("div");
  name.className = "file-name";
  name.textContent = file.file_name || "file";
  const size = document.createElement("div");
  size.className = "size";
  size.textContent = `${Math.max(1, Math.round(file.file_size / 1024))} KB · ${t("download")}`;
  label.append(name, size);
  link.append(icon, label);
  return link;
}

function inlineKeyboard(record, rows) {
  const keyboard = document.createElement("div");
  keyboard.className = "inline-keyboard";
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = button.text + (button.url ? " ↗" : "");
      element.addEventListener("click", () => {
        if (button.url) window.open(button.url, "_blank", "noopener");
        else api(`/api/phones/${record.chat_id}/press`, { message_id: record.message_id, data: button.callback_data }).catch(() => {});
      });
      line.append(element);
    }
    keyboard.append(line);
  }
  return keyboard;
}

function drawReplyKeyboard(phoneEl, id) {
  const chat = state.chats.get(id) || new Map();
  const latest = [...chat.values()]
    .filter((record) => record.from_bot && record.reply_markup &&
      ("keyboard" in record.reply_markup || "remove_keyboard" in record.reply_markup))
    .sort((a, b) => b.message_id - a.message_id)[0];
  const box = $(".reply-keyboard", phoneEl);
  box.replaceChildren();
  const markup = latest && latest.reply_markup;
  const usedUp = markup && markup.one_time_keyboard &&
    [...chat.values()].some((record) => !record.from_bot && record.message_id > latest.message_id);
  if (!markup || !markup.keyboard || usedUp) {
    box.hidden = true;
    return;
  }
  for (const row of markup.keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      const label = typeof button === "string" ? button : button.text;
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = label;
      element.addEventListener("click", () => sendText(id, label));
      line.append(element);
    }
    box.append(line);
  }
  box.hidden = false;
}

const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote" };

// Telegram's entities (UTF-16 offsets, as JavaScript strings count) to elements, nested.
function renderEntities(text, entities, chatId) {
  const root = document.createDocumentFragment();
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  build(text, 0, text.length, sorted, root, chatId);
  return root;
}

function build(text, start, end, list, parent, chatId) {
  let position = start;
  let index = 0;
  while (index < list.length) {
    const entity = list[index];
    const stop = entity.offset + entity.length;
    if (entity.offset > position) parent.append(text.slice(position, entity.offset));
    const inner = [];
    let next = index + 1;
    while (next < list.length && list[next].offset < stop) inner.push(list[next++]);
    const element = entityElement(entity, text.slice(entity.offset, stop), chatId);
    build(text, entity.offset, stop, inner, element, chatId);
    parent.append(element);
    position = Math.max(position, stop);
    index = next;
  }
  if (position < end) parent.append(text.slice(position, end));
}

function entityElement(entity, content, chatId) {
  if (TAGS[entity.type]) return document.createElement(TAGS[entity.type]);
  if (entity.type === "text_link" || entity.type === "url") {
    const link = document.createElement("a");
    link.href = entity.type === "url" ? content : entity.url;
    link.target = "_blank";
    link.rel = "noopener";
    return link;
  }
  const span = document.createElement("span");
  if (entity.type === "spoiler") {
    span.className = "spoiler";
    span.addEventListener("click", () => span.classList.add("shown"));
  } else if (entity.type === "bot_command") {
    span.className = "command";
    span.addEventListener("click", () => sendText(chatId, content));
  }
  return span;
}
