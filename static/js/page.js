// The page's elements, found once, a helper that makes new ones, and the page's own dialogs.

export const $ = (selector) => document.querySelector(selector);

export const layout = $(".layout");

export const els = {
  list: $("#chat-list"), models: $("#model-select"), messages: $("#messages"), input: $("#input"),
  composer: $("#composer"), send: $("#send"), stop: $("#stop"), mic: $("#mic"), upload: $("#upload"),
  file: $("#audio-file"), error: $("#error"), title: $("#chat-title"), offline: $("#offline"),
  recording: $("#recording"), recTime: $("#rec-time"), recLevel: $("#rec-level"),
  search: $("#search"), results: $("#search-results"), speak: $("#speak"), talk: $("#talk"),
  talkBar: $("#talk-bar"), talkState: $("#talk-state"), talkLevel: $("#talk-level"),
  archived: $("#archived-list"),
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The page's own dialogs (not the browser's prompt and confirm): resolve to the button pressed, "ok" or not.
export function ask(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/** Asks the confirmation dialog: `title`, `text`, and the label of the button that goes ahead. */
export async function confirmed(title, text, action) {
  const dialog = $("#confirm-dialog");
  dialog.querySelector("h2").textContent = title;
  dialog.querySelector("p").textContent = text;
  dialog.querySelector("button[value=ok]").textContent = action;
  return (await ask(dialog)) === "ok";
}

/** Says `text` to screen readers (the page's polite live region). */
export function announce(text) {
  $("#announce").textContent = text;
}
